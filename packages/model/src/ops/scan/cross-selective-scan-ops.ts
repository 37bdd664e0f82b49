/**
 * The `ops` implementation of `crossSelectiveScan` (cross-selective-scan.ts): the same function
 * as the kernels, on the same input and output layouts, in tfjs ops only, so that on a GPU
 * backend nothing leaves the device. Per direction k the map's tokens are put in k's order (rows,
 * columns, and the reverse of each) as direction-major sequences [K,B,T,·]; then
 *   dt = softplus(delta + deltaBias[k]),  y_k = selectiveScanOps(dt, dt·u, A, B, C) + Ds[k]·u,
 * and each y_k goes back to row-major and the four are summed. Only the recurrence has a
 * hand-written gradient (selective-scan-ops.ts); tfjs differentiates the rest.
 *
 * @example
 * const y = crossSelectiveScanOps(u, delta, A, Bm, Cm, Ds, deltaBias); // as crossSelectiveScan
 */
import * as tf from '@tensorflow/tfjs-core';
import { CROSS_DIRECTIONS } from './cross-selective-scan-kernels.ts';
import { selectiveScanOps } from './selective-scan-ops.ts';

/** The tokens of x [B,H,W,C] in direction k's order: [B,H·W,C]. */
function toDirection(x: tf.Tensor, k: number): tf.Tensor {
  const [B, H, W, C] = x.shape;
  const seq = k % 2 === 0 ? tf.reshape(x, [B, H * W, C]) : tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, H * W, C]);
  return k < 2 ? seq : tf.reverse(seq, 1);
}

/** Inverse of toDirection: [B,H·W,C] in direction k's order → [B,H,W,C]. */
function fromDirection(y: tf.Tensor, k: number, H: number, W: number): tf.Tensor {
  const [B, , C] = y.shape;
  const seq = k < 2 ? y : tf.reverse(y, 1);
  return k % 2 === 0 ? tf.reshape(seq, [B, H, W, C]) : tf.transpose(tf.reshape(seq, [B, W, H, C]), [0, 2, 1, 3]);
}

/** [B,H,W,K,C] (one slice per direction) → [K,B,T,C], slice k in direction k's order. */
function perDirection(x: tf.Tensor): tf.Tensor {
  // Direction-major first: unstacking the leading axis is a contiguous copy on every backend.
  return tf.stack(tf.unstack(tf.transpose(x, [3, 0, 1, 2, 4])).map((xk, k) => toDirection(xk, k)));
}

/** Shapes are checked by the caller (crossSelectiveScan). */
export function crossSelectiveScanOps(u: tf.Tensor4D, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor,
  Ds: tf.Tensor, deltaBias: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [, H, W, D] = u.shape;
    const K = CROSS_DIRECTIONS;
    const us = tf.stack(Array.from({ length: K }, (_, k) => toDirection(u, k)));
    const dt = tf.softplus(tf.add(perDirection(delta), tf.reshape(deltaBias, [K, 1, 1, D])));
    const y = selectiveScanOps(dt, tf.mul(dt, us), A, perDirection(Bm), perDirection(Cm));
    const scanned = tf.addN(tf.unstack(y).map((yk, k) => fromDirection(yk, k, H, W)));
    // Σ_k Ds[k]·u: every direction's skip lands on the token it came from.
    return tf.add(scanned, tf.mul(u, tf.sum(Ds, 0))) as tf.Tensor4D;
  });
}

import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.matMul` (same arguments, same broadcasting of leading batch axes) routed, forward and
 * backward, through plain 2-D products. On the wasm backend only an untransposed rank-2 product
 * runs the fast XNNPack path; `transposeA`/`transposeB` and batched (rank ≥ 3) products run a
 * reference loop 5–30× slower, and tfjs's own MatMul gradient uses both. So here:
 * - transposes are explicit `tf.transpose` calls;
 * - a product with a shared rank-2 right (or left) factor is folded into one 2-D product;
 * - a genuinely batched product is a loop of 2-D products when the batch is small and the
 *   matrices large, else tfjs's batched kernel.
 *
 * ```ts
 * const y = matMul(x, w);             // x [B, L, Din], w [Din, Dout] → [B, L, Dout]
 * const s = matMul(q, k, false, true); // [B, L, D] × [B, L, D]ᵀ → [B, L, L]
 * ```
 */
export function matMul<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  if (a.rank < 2 || b.rank < 2) throw new RangeError(`matMul: both factors need rank ≥ 2; got ${a.shape} and ${b.shape}`);
  const at = transposeA ? swapLast(a) : a;
  const bt = transposeB ? swapLast(b) : b;
  const k = at.shape[at.rank - 1];
  if (bt.shape[bt.rank - 2] !== k) {
    throw new RangeError(`matMul: inner sizes differ: ${a.shape}${transposeA ? 'ᵀ' : ''} × ${b.shape}${transposeB ? 'ᵀ' : ''}`);
  }
  batchShape(at, bt); // validates broadcasting before the op is recorded
  return product(at, bt) as T;
}

const product = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b] = args as [tf.Tensor, tf.Tensor];
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  return {
    value: fastProduct(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
      const [sa, sb] = saved;
      return [gradA(dy, sa, sb), gradB(dy, sa, sb)];
    }),
  };
});

/** d(a·b)/da = dy · bᵀ, summed over the batch axes a was broadcast along. */
function gradA(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (size(a.shape.slice(0, -2)) === 1 && size(b.shape.slice(0, -2)) > 1) {
    // One matrix a against a batch of b: Σ_p dy_p · b_pᵀ = [M, P·N] · [P·N, K]
    const m = a.shape[a.rank - 2];
    const [k, n] = b.shape.slice(-2);
    const dyFlat = tf.reshape(tf.transpose(tf.reshape(dy, [-1, m, n]), [1, 0, 2]), [m, -1]);
    const bFlat = tf.reshape(tf.transpose(tf.reshape(b, [-1, k, n]), [0, 2, 1]), [-1, k]);
    return tf.reshape(tf.matMul(dyFlat as tf.Tensor2D, bFlat as tf.Tensor2D), a.shape);
  }
  return reduceTo(fastProduct(dy, swapLast(b)), a.shape);
}

/** d(a·b)/db = aᵀ · dy, summed over the batch axes b was broadcast along. */
function gradB(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (size(b.shape.slice(0, -2)) === 1) {
    // One matrix b: sum over every leading axis of a at once, [K, rows] · [rows, N].
    const [k, n] = b.shape.slice(-2);
    return tf.reshape(transposedProduct(tf.reshape(a, [-1, k]) as tf.Tensor2D, tf.reshape(dy, [-1, n]) as tf.Tensor2D), b.shape);
  }
  return reduceTo(fastProduct(swapLast(a), dy), b.shape);
}

/** Largest M for which aᵀ·b is computed as (bᵀ·a)ᵀ (see transposedProduct). */
const SWAP_MAX_M = 64;

/**
 * aᵀ·b for a [R, M] and b [R, N] (a weight gradient: R rows of activations and of ∂y), as the
 * cheaper of two plain products. XNNPack packs a product's right factor anew for every tensor it
 * has not seen, and gradients are always new: aᵀ·b packs all of b (R·N) for only M rows of
 * output. With M small and N larger, (bᵀ·a)ᵀ packs a instead, and costs b's transpose.
 */
export function transposedProduct(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const [m, n] = [a.shape[1], b.shape[1]];
  if (m <= SWAP_MAX_M && n > m) return tf.transpose(tf.matMul(tf.transpose(b) as tf.Tensor2D, a)) as tf.Tensor2D;
  return tf.matMul(tf.transpose(a) as tf.Tensor2D, b);
}

/** The product itself, without transposes and without tfjs's batched kernel where avoidable. */
function fastProduct(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const m = a.shape[a.rank - 2];
  const k = a.shape[a.rank - 1];
  const n = b.shape[b.rank - 1];
  const batch = batchShape(a, b);
  const aBatch = size(a.shape.slice(0, -2));
  const bBatch = size(b.shape.slice(0, -2));
  if (bBatch === 1) {
    // b is one matrix: fold a's batch into its rows.
    const y = tf.matMul(tf.reshape(a, [-1, k]) as tf.Tensor2D, tf.reshape(b, [k, n]) as tf.Tensor2D);
    return tf.reshape(y, [...broadcastOuter(a, batch), m, n]);
  }
  if (aBatch === 1) {
    // a is one matrix: put b's batch beside its columns, [K, P·N].
    const bFlat = tf.reshape(tf.transpose(tf.reshape(b, [bBatch, k, n]), [1, 0, 2]), [k, bBatch * n]);
    const y = tf.matMul(tf.reshape(a, [m, k]) as tf.Tensor2D, bFlat as tf.Tensor2D);
    return tf.reshape(tf.transpose(tf.reshape(y, [m, bBatch, n]), [1, 0, 2]), [...batch, m, n]);
  }
  const p = size(batch);
  const a3 = tf.reshape(aBatch === p ? a : tf.broadcastTo(a, [...batch, m, k]), [p, m, k]) as tf.Tensor3D;
  const b3 = tf.reshape(bBatch === p ? b : tf.broadcastTo(b, [...batch, k, n]), [p, k, n]) as tf.Tensor3D;
  // Measured on wasm: a loop of 2-D products wins for few large matrices, the batched kernel
  // for many small ones.
  if (p <= 16 && m * k * n >= 1 << 18) {
    const as = tf.unstack(a3);
    const bs = tf.unstack(b3);
    return tf.reshape(tf.stack(as.map((ai, i) => tf.matMul(ai as tf.Tensor2D, bs[i] as tf.Tensor2D))), [...batch, m, n]);
  }
  return tf.reshape(tf.matMul(a3, b3), [...batch, m, n]);
}

function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** Broadcast batch shape of the two factors (numpy rules, as tf.matMul). */
function batchShape(a: tf.Tensor, b: tf.Tensor): number[] {
  const sa = a.shape.slice(0, -2);
  const sb = b.shape.slice(0, -2);
  const rank = Math.max(sa.length, sb.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = sa[sa.length - rank + i] ?? 1;
    const db = sb[sb.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new RangeError(`matMul: batch shapes ${a.shape} and ${b.shape} do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** a's own leading axes when b contributes none, else the full broadcast batch shape. */
function broadcastOuter(a: tf.Tensor, batch: number[]): number[] {
  return batch.length > a.rank - 2 ? batch : a.shape.slice(0, -2);
}

/** Sums a broadcast gradient back to `shape` (extra leading axes, then axes that were 1). */
function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  const extra = g.rank - shape.length;
  let r = extra > 0 ? tf.sum(g, [...Array(extra).keys()]) : g;
  const ones = shape.map((d, i) => (d === 1 && r.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (ones.length) r = tf.sum(r, ones, true);
  return r;
}

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

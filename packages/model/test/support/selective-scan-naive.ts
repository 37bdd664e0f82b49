/**
 * The selective scan written step by step with plain tfjs ops, differentiable by tfjs autodiff.
 * A reference for tests and the benchmark only: it records about ten tape entries per time step,
 * so its backward keeps O(L) tensors of B·K·D·N values alive, and it is slower than selectiveScan
 * (bench/scan.bench.ts measures by how much on each backend).
 *
 * @example
 * const y = selectiveScanNaive(u, delta, A, Bm, Cm, Ds, deltaBias); // same contract as selectiveScan
 */
import * as tf from '@tensorflow/tfjs-core';

export function selectiveScanNaive(u: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor,
  Ds: tf.Tensor, deltaBias: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, K, , D] = u.shape as number[];
    const N = (A.shape as number[])[2];
    const dt = tf.softplus(tf.add(delta, tf.reshape(deltaBias, [1, K, 1, D])));
    // tfjs's Unpack gradient breaks on a single output, hence the L = 1 case.
    const steps = (t: tf.Tensor) => (t.shape[2] === 1 ? [tf.squeeze(t, [2])] : tf.unstack(t, 2));
    const dts = steps(dt); // L × [B,K,D]
    const us = steps(u);
    const bs = steps(Bm); // L × [B,K,N]
    const cs = steps(Cm);
    const a = tf.reshape(A, [1, K, D, N]);
    let h: tf.Tensor = tf.zeros([B, K, D, N]);
    const ys: tf.Tensor[] = [];
    for (let t = 0; t < dts.length; t++) {
      const dtt = tf.reshape(dts[t], [B, K, D, 1]);
      const decay = tf.exp(tf.mul(dtt, a));
      const inject = tf.mul(tf.mul(dtt, tf.reshape(us[t], [B, K, D, 1])), tf.reshape(bs[t], [B, K, 1, N]));
      h = tf.add(tf.mul(decay, h), inject);
      ys.push(tf.sum(tf.mul(h, tf.reshape(cs[t], [B, K, 1, N])), -1));
    }
    return tf.add(tf.stack(ys, 2), tf.mul(u, tf.reshape(Ds, [1, K, 1, D]))) as tf.Tensor4D;
  });
}

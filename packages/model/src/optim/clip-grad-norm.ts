import * as tf from '@tensorflow/tfjs-core';

/**
 * torch.nn.utils.clip_grad_norm_ (L2): the total norm over all gradients, and when it exceeds
 * `maxNorm` every gradient scaled by maxNorm / (norm + 1e-6). Like torch it works in place: the
 * entries of `grads` are replaced by the scaled tensors (the old ones disposed). Returns the
 * norm before clipping.
 *
 * ```ts
 * const { value, grads } = tf.variableGrads(lossFn);
 * const norm = clipGradNorm(grads, 5);
 * opt.step(grads);
 * ```
 */
export function clipGradNorm(grads: tf.NamedTensorMap | Map<string, tf.Tensor>, maxNorm: number): number {
  const entries: [string, tf.Tensor][] = grads instanceof Map ? [...grads] : Object.entries(grads);
  if (entries.length === 0) return 0;
  const norm = tf.tidy(() => tf.sqrt(tf.addN(entries.map(([, g]) => tf.sum(tf.square(g))))).dataSync()[0]);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const [name, g] of entries) {
      const scaled = tf.mul(g, coef);
      g.dispose();
      if (grads instanceof Map) grads.set(name, scaled);
      else grads[name] = scaled;
    }
  }
  return norm;
}

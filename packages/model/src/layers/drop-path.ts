import * as tf from '@tensorflow/tfjs-core';
import type { ForwardContext } from './context.ts';

/** Stochastic depth: drops a sample's residual branch with probability `rate` while training. */
export function dropPath(x: tf.Tensor4D, rate: number, ctx: ForwardContext): tf.Tensor4D {
  if (!ctx.training || rate <= 0) return x;
  if (!ctx.random) throw new Error('training forward needs a random source for stochastic depth');
  const keep = 1 - rate;
  return tf.tidy(() => tf.div(tf.mul(x, ctx.random!.bernoulli([x.shape[0], 1, 1, 1], keep)), keep));
}

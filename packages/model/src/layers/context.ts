import type * as tf from '@tensorflow/tfjs-core';

/** Per-call state of a forward pass. */
export interface ForwardContext {
  /** Training mode: batch-statistics BatchNorm, feature noise, stochastic depth. */
  readonly training: boolean;
  /** Seeded source of random tensors for noise and stochastic depth (training only). */
  readonly random?: RandomSource;
}

export interface RandomSource {
  normal(shape: number[], std: number): tf.Tensor;
  /** 0/1 mask with P(1) = keep. */
  bernoulli(shape: number[], keep: number): tf.Tensor;
}

export const EVAL: ForwardContext = { training: false };

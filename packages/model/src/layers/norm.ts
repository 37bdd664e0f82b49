import * as tf from '@tensorflow/tfjs-core';
import type { ParamRegistry } from '../params.ts';
import type { ForwardContext } from './context.ts';

/** LayerNorm over the last axis (PyTorch nn.LayerNorm, affine). */
export class LayerNorm {
  private readonly weight: tf.Variable;
  private readonly bias: tf.Variable;
  constructor(reg: ParamRegistry, name: string, dim: number, private readonly eps = 1e-5) {
    this.weight = reg.add(`${name}.weight`, [dim], { init: { kind: 'ones' } });
    this.bias = reg.add(`${name}.bias`, [dim], { init: { kind: 'zeros' } });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.weight), this.bias);
    });
  }
}

/** InstanceNorm2d without affine parameters on NHWC: per sample and channel over H, W. */
export function instanceNorm(x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  });
}

/**
 * BatchNorm2d on NHWC. Eval: running statistics. Training: batch statistics, and the running
 * ones updated as PyTorch does (momentum 0.1, unbiased variance).
 */
export class BatchNorm {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  private readonly tracked;
  constructor(reg: ParamRegistry, readonly name: string, dim: number, opts: { trainable?: boolean } = {}, private readonly eps = 1e-5, private readonly momentum = 0.1) {
    const trainable = opts.trainable ?? true;
    this.weight = reg.add(`${name}.weight`, [dim], { trainable, init: { kind: 'ones' } });
    this.bias = reg.add(`${name}.bias`, [dim], { trainable, init: { kind: 'zeros' } });
    this.runningMean = reg.add(`${name}.running_mean`, [dim], { trainable: false, init: { kind: 'zeros' } });
    this.runningVar = reg.add(`${name}.running_var`, [dim], { trainable: false, init: { kind: 'ones' } });
    this.tracked = reg.addInt(`${name}.num_batches_tracked`, [], new BigInt64Array(1));
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    if (!ctx.training) {
      return tf.tidy(() => {
        const scale = tf.mul(tf.rsqrt(tf.add(this.runningVar, this.eps)), this.weight);
        return tf.add(tf.mul(x, scale), tf.sub(this.bias, tf.mul(this.runningMean, scale)));
      });
    }
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const y: tf.Tensor4D = tf.tidy(() => tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.weight), this.bias));
    const n = x.size / x.shape[3];
    tf.tidy(() => {
      const m = this.momentum;
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
    });
    this.tracked.values[0] += 1n;
    mean.dispose();
    variance.dispose();
    return y;
  }

  /**
   * Re-estimates the running statistics from data (torch's momentum=None: the cumulative mean
   * of every batch's statistics; `seen` batches came before this one) and normalises `x` with
   * the batch's own statistics, as a train-mode forward does.
   */
  calibrate(x: tf.Tensor4D, seen: number): tf.Tensor4D {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const n = x.size / x.shape[3];
      const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
      const w = 1 / (seen + 1);
      this.runningMean.assign(seen === 0 ? mean : tf.add(tf.mul(this.runningMean, 1 - w), tf.mul(mean, w)));
      this.runningVar.assign(seen === 0 ? unbiased : tf.add(tf.mul(this.runningVar, 1 - w), tf.mul(unbiased, w)));
      this.tracked.values[0] = BigInt(seen + 1);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.weight), this.bias);
    });
  }
}

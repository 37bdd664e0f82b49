import * as tf from '@tensorflow/tfjs-core';
import type { ParamRegistry } from '../params.ts';
import { Linear } from './linear.ts';
import { LayerNorm } from './norm.ts';

/** ×2 upsample: Linear(2C → 4C, no bias), pixel shuffle (p1, p2, c) to C channels, LayerNorm. */
export class PatchExpand {
  private readonly expand: Linear;
  private readonly norm: LayerNorm;
  constructor(reg: ParamRegistry, p: string, private readonly dim: number) {
    this.expand = new Linear(reg, `${p}.expand`, 2 * dim, 4 * dim);
    this.norm = new LayerNorm(reg, `${p}.norm`, dim);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [b, h, w] = x.shape;
      // [B·H, W, p1, p2·C] → [B·H, p1, W, p2·C] keeps every transpose at rank 4.
      const y = tf.reshape(tf.transpose(tf.reshape(this.expand.apply(x), [b * h, w, 2, 2 * this.dim]), [0, 2, 1, 3]), [b, 2 * h, 2 * w, this.dim]);
      return this.norm.apply(y) as tf.Tensor4D;
    });
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { InitSpec, ParamRegistry } from '../params.ts';
import { matMul } from '../ops/matmul.ts';

/** nn.Linear over the last axis; weight stored [in, out] (torch [out, in]). */
export class Linear {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(reg: ParamRegistry, name: string, readonly inDim: number, readonly outDim: number,
    opts: { bias?: boolean; init?: InitSpec } = {}) {
    this.weight = reg.add(`${name}.weight`, [outDim, inDim], { layout: 'linear', init: opts.init ?? { kind: 'truncNormal', std: 0.02 } });
    if (opts.bias) this.bias = reg.add(`${name}.bias`, [outDim], { init: { kind: 'zeros' } });
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      let y = matMul(tf.reshape(x, [-1, this.inDim]), this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return tf.reshape(y, [...lead, this.outDim]);
    });
  }
}

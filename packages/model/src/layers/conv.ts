import * as tf from '@tensorflow/tfjs-core';
import type { InitSpec, ParamRegistry } from '../params.ts';
import { conv2d } from '../ops/conv2d.ts';
import { depthwiseConv2d } from '../ops/depthwise-conv2d.ts';

export interface ConvOptions {
  stride?: 1 | 2;
  /** Symmetric zero padding (PyTorch `padding`); default k // 2. */
  pad?: number;
  bias?: boolean;
  init: InitSpec;
  trainable?: boolean;
}

/** nn.Conv2d (groups 1) on NHWC, trainable on every backend. */
export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  private readonly stride: 1 | 2;
  private readonly pad: number;
  constructor(reg: ParamRegistry, name: string, cin: number, cout: number, readonly k: number, opts: ConvOptions) {
    const trainable = opts.trainable ?? true;
    this.weight = reg.add(`${name}.weight`, [cout, cin, k, k], { layout: 'conv', trainable, init: opts.init });
    if (opts.bias) this.bias = reg.add(`${name}.bias`, [cout], { trainable, init: { kind: 'zeros' } });
    this.stride = opts.stride ?? 1;
    this.pad = opts.pad ?? Math.floor(k / 2);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return conv2d(x, this.weight as tf.Tensor4D, this.stride, this.pad, this.bias as tf.Tensor1D | undefined);
  }
}

/** Depthwise nn.Conv2d (groups = channels, stride 1, 'same' size) on NHWC. */
export class DepthwiseConv2d {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;
  constructor(reg: ParamRegistry, name: string, channels: number, readonly k: number, opts: Omit<ConvOptions, 'stride' | 'pad'>) {
    this.weight = reg.add(`${name}.weight`, [channels, 1, k, k], { layout: 'depthwise', init: opts.init });
    if (opts.bias) this.bias = reg.add(`${name}.bias`, [channels], { init: { kind: 'zeros' } });
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return depthwiseConv2d(x, this.weight as tf.Tensor4D, Math.floor(this.k / 2), this.bias as tf.Tensor1D | undefined);
  }
}

/** Kaiming-normal std for fan-out (torch mode="fan_out", ReLU gain). */
export function kaimingFanOut(cout: number, k: number, groups = 1): InitSpec {
  return { kind: 'normal', std: Math.sqrt(2 / ((k * k * cout) / groups)) };
}

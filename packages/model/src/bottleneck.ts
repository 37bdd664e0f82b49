import * as tf from '@tensorflow/tfjs-core';
import type { ParamRegistry } from './params.ts';
import type { ForwardContext } from './layers/context.ts';
import { BatchNorm } from './layers/norm.ts';
import { Conv2d, kaimingFanOut } from './layers/conv.ts';

/** conv → BN → ReLU, trainable (BN in train mode while training). */
class ConvBnRelu {
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm;
  constructor(reg: ParamRegistry, conv: string, bn: string, cin: number, cout: number, k: number, stride: 1 | 2, bias: boolean) {
    this.conv = new Conv2d(reg, conv, cin, cout, k, { stride, bias, init: kaimingFanOut(cout, k) });
    this.bn = new BatchNorm(reg, bn, cout);
  }
  apply(x: tf.Tensor4D, ctx: ForwardContext, relu = true): tf.Tensor4D {
    return tf.tidy(() => {
      const y = this.bn.apply(this.conv.apply(x), ctx);
      return relu ? tf.relu(y) : y;
    });
  }
}

/** torchvision Bottleneck (expansion 4) as used by the reference's `bn_layer`. */
class ResBottleneck {
  private readonly a: ConvBnRelu;
  private readonly b: ConvBnRelu;
  private readonly c: ConvBnRelu;
  private readonly down?: ConvBnRelu;
  constructor(reg: ParamRegistry, p: string, cin: number, planes: number, stride: 1 | 2) {
    const out = planes * 4;
    this.a = new ConvBnRelu(reg, `${p}.conv1`, `${p}.bn1`, cin, planes, 1, 1, false);
    this.b = new ConvBnRelu(reg, `${p}.conv2`, `${p}.bn2`, planes, planes, 3, stride, false);
    this.c = new ConvBnRelu(reg, `${p}.conv3`, `${p}.bn3`, planes, out, 1, 1, false);
    if (stride !== 1 || cin !== out) this.down = new ConvBnRelu(reg, `${p}.downsample.0`, `${p}.downsample.1`, cin, out, 1, stride, false);
  }
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      const skip = this.down ? this.down.apply(x, ctx, false) : x;
      const y = this.c.apply(this.b.apply(this.a.apply(x, ctx), ctx), ctx, false);
      return tf.relu(tf.add(y, skip)) as tf.Tensor4D;
    });
  }
}

/**
 * Bottleneck fusion (`mff_oce`): fuses the three encoder maps (c1@S/4, c2@S/8, c3@S/16) into
 * one 2·c3@S/32 map; while training adds N(0, noiseStd²) feature noise — the synthetic
 * anomaly generator.
 */
export class BottleneckFusion {
  private readonly f1: ConvBnRelu;
  private readonly f21: ConvBnRelu;
  private readonly f2: ConvBnRelu;
  private readonly f31: ConvBnRelu;
  private readonly ff: ConvBnRelu;
  private readonly blocks: ResBottleneck[];

  constructor(reg: ParamRegistry, [c1, c2, c3]: [number, number, number], private readonly noiseStd: number, p = 'mff_oce.') {
    this.f1 = new ConvBnRelu(reg, `${p}conv1`, `${p}bn1`, c1, c2, 3, 2, false);
    this.f21 = new ConvBnRelu(reg, `${p}conv21`, `${p}bn21`, c2, c2, 1, 1, true);
    this.f2 = new ConvBnRelu(reg, `${p}conv2`, `${p}bn2`, c2, c3, 3, 2, false);
    this.f31 = new ConvBnRelu(reg, `${p}conv31`, `${p}bn31`, c3, c3, 1, 1, true);
    this.ff = new ConvBnRelu(reg, `${p}convf`, `${p}bnf`, c3, c3, 1, 1, true);
    const planes = c3 / 2;
    this.blocks = [
      new ResBottleneck(reg, `${p}bn_layer.0`, c3, planes, 2),
      new ResBottleneck(reg, `${p}bn_layer.1`, planes * 4, planes, 1),
      new ResBottleneck(reg, `${p}bn_layer.2`, planes * 4, planes, 1),
    ];
  }

  apply([e1, e2, e3]: tf.Tensor4D[], ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      let f = this.f1.apply(e1, ctx);
      f = tf.add(this.f21.apply(e2, ctx), f);
      f = tf.add(this.f2.apply(f, ctx), this.f31.apply(e3, ctx));
      f = this.ff.apply(f, ctx);
      for (const b of this.blocks) f = b.apply(f, ctx);
      if (ctx.training && this.noiseStd > 0) {
        if (!ctx.random) throw new Error('training forward needs a random source for feature noise');
        f = tf.add(f, ctx.random.normal(f.shape, this.noiseStd));
      }
      return f;
    });
  }
}

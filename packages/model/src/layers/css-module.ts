import * as tf from '@tensorflow/tfjs-core';
import type { ParamRegistry } from '../params.ts';
import type { ForwardContext } from './context.ts';
import { LayerNorm, instanceNorm } from './norm.ts';
import { Conv2d, DepthwiseConv2d } from './conv.ts';
import { SS2D, silu } from './ss2d.ts';
import type { PyramidMode } from './pyramid-scan.ts';
import { dropPath } from './drop-path.ts';

/** HSS block: x + DropPath(SS2D(LayerNorm(x))). */
class HSSBlock {
  private readonly norm: LayerNorm;
  private readonly ss2d: SS2D;
  constructor(reg: ParamRegistry, p: string, dim: number, side: number, mode: PyramidMode, private readonly dropRate: number,
    opts: { dState: number; expand: number }) {
    this.norm = new LayerNorm(reg, `${p}.ln_1`, dim);
    this.ss2d = new SS2D(reg, `${p}.self_attention`, dim, side, mode, opts);
  }
  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => tf.add(x, dropPath(this.ss2d.apply(this.norm.apply(x) as tf.Tensor4D), this.dropRate, ctx)));
  }
}

const lssConvInit = (k: number, cout: number, groups = 1) => ({ kind: 'normal' as const, std: Math.sqrt(2 / ((k * k * cout) / groups)) });

/** conv → InstanceNorm (no affine) → SiLU. */
class ConvInSilu {
  private readonly conv: Conv2d | DepthwiseConv2d;
  constructor(reg: ParamRegistry, p: string, dim: number, k: number, depthwise: boolean) {
    this.conv = depthwise
      ? new DepthwiseConv2d(reg, `${p}.0`, dim, k, { bias: false, init: lssConvInit(k, dim, dim) })
      : new Conv2d(reg, `${p}.0`, dim, dim, k, { bias: true, init: lssConvInit(k, dim) });
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => silu(instanceNorm(this.conv.apply(x))));
  }
}

/**
 * CSS module (the reference's `LSSModule`): a global branch of HSS blocks and two
 * locality-enhanced branches (1×1 → depthwise 5×5 / 7×7 → 1×1), concatenated, fused by a
 * 1×1 conv, plus the input.
 */
export class CSSModule {
  private readonly blocks: HSSBlock[];
  private readonly b5: ConvInSilu[];
  private readonly b7: ConvInSilu[];
  private readonly fuse: Conv2d;

  constructor(reg: ParamRegistry, p: string, dim: number, nBlocks: number, side: number, mode: PyramidMode, dropRate: number,
    opts: { dState: number; expand: number }) {
    this.blocks = Array.from({ length: nBlocks }, (_, i) => new HSSBlock(reg, `${p}.smm_blocks.${i}`, dim, side, mode, dropRate, opts));
    // Declared in the reference's state-dict order.
    const c1b7 = new ConvInSilu(reg, `${p}.conv1b7`, dim, 1, false);
    const c1a7 = new ConvInSilu(reg, `${p}.conv1a7`, dim, 1, false);
    const c1b5 = new ConvInSilu(reg, `${p}.conv1b5`, dim, 1, false);
    const c1a5 = new ConvInSilu(reg, `${p}.conv1a5`, dim, 1, false);
    const c55 = new ConvInSilu(reg, `${p}.conv55`, dim, 5, true);
    const c77 = new ConvInSilu(reg, `${p}.conv77`, dim, 7, true);
    this.b5 = [c1b5, c55, c1a5];
    this.b7 = [c1b7, c77, c1a7];
    this.fuse = new Conv2d(reg, `${p}.finalconv11`, 3 * dim, dim, 1, { bias: true, init: lssConvInit(1, dim) });
  }

  apply(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D {
    return tf.tidy(() => {
      let g = x;
      for (const b of this.blocks) g = b.apply(g, ctx);
      const l5 = this.b5.reduce((h, c) => c.apply(h), x);
      const l7 = this.b7.reduce((h, c) => c.apply(h), x);
      return tf.add(this.fuse.apply(tf.concat([g, l5, l7], -1)), x);
    });
  }
}

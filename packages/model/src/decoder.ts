import * as tf from '@tensorflow/tfjs-core';
import type { ParamRegistry } from './params.ts';
import { blocksPerModule, decoderDims, type ModelConfig } from './config.ts';
import type { ForwardContext } from './layers/context.ts';
import { CSSModule } from './layers/css-module.ts';
import { PatchExpand } from './layers/patch-expand.ts';
import { stagePyramidMode } from './layers/ss2d.ts';

/** Stochastic-depth rates: linspace(0, rate, Σdepths) reversed, sliced per stage (as the reference). */
export function dropPathRates(depths: number[], rate: number): number[][] {
  const total = depths.reduce((a, b) => a + b, 0);
  const all = Array.from({ length: total }, (_, i) => (total === 1 ? 0 : (rate * i) / (total - 1))).reverse();
  let at = 0;
  return depths.map((d) => all.slice(at, (at += d)));
}

/**
 * The student (`net_s`, MambaUPNet): four stages of CSS modules, deepest first; stages 1..3
 * start with a patch-expand upsample. Returns the four stage outputs (NHWC), stage 0 first.
 */
export class MambaDecoder {
  private readonly stages: { up?: PatchExpand; modules: CSSModule[] }[] = [];

  constructor(reg: ParamRegistry, cfg: ModelConfig, refSide = 8, p = 'net_s.') {
    const dims = decoderDims(cfg);
    const rates = dropPathRates(cfg.depths, cfg.dropPathRate);
    cfg.depths.forEach((depth, i) => {
      const per = blocksPerModule(depth);
      const side = refSide * 2 ** i;
      const mode = stagePyramidMode(cfg.pyramid, i);
      const modules = Array.from({ length: depth / per }, (_, m) =>
        new CSSModule(reg, `${p}layers_up.${i}.blocks.${m}`, dims[i], per, side, mode, rates[i][m], { dState: cfg.dState, expand: cfg.expand }));
      const up = i > 0 ? new PatchExpand(reg, `${p}layers_up.${i}.upsample`, dims[i]) : undefined;
      this.stages.push({ up, modules });
    });
  }

  applyStages(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor4D[] {
    return tf.tidy(() => {
      const outs: tf.Tensor4D[] = [];
      let h = x;
      for (const s of this.stages) {
        if (s.up) h = s.up.apply(h);
        for (const m of s.modules) h = m.apply(h, ctx);
        outs.push(h);
      }
      return outs;
    });
  }
}

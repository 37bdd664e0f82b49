import * as tf from '@tensorflow/tfjs-core';
import type { ParamRegistry } from '../params.ts';
import type { PyramidConfig } from '../config.ts';
import { Linear } from './linear.ts';
import { LayerNorm } from './norm.ts';
import { DepthwiseConv2d } from './conv.ts';
import { pyramidScan, type PyramidMode, type ScanParams } from './pyramid-scan.ts';

const DIRECTIONS = 4;

/** The pyramid mode one decoder stage runs. */
export function stagePyramidMode(cfg: PyramidConfig, stage: number): PyramidMode {
  return cfg.mode === 'reference'
    ? { reference: true, level3Threshold: cfg.level3Threshold }
    : { levels: cfg.levels[stage] as 1 | 2 | 3 | 4 };
}

/**
 * SS2D with the Pyramidal Scanning Strategy on NHWC maps:
 * in_proj → (x, z); x → depthwise 3×3 → SiLU → pyramid scan → LayerNorm → · SiLU(z) → out_proj.
 */
export class SS2D {
  private readonly inProj: Linear;
  private readonly conv: DepthwiseConv2d;
  private readonly outNorm: LayerNorm;
  private readonly outProj: Linear;
  private readonly params: ScanParams;
  private readonly dInner: number;

  constructor(reg: ParamRegistry, p: string, dModel: number, mapSide: number, private readonly mode: PyramidMode,
    opts: { dState: number; expand: number }) {
    const di = opts.expand * dModel;
    const n = opts.dState;
    const r = Math.ceil(dModel / 16);
    this.dInner = di;
    this.inProj = new Linear(reg, `${p}.in_proj`, dModel, 2 * di);
    this.conv = new DepthwiseConv2d(reg, `${p}.conv2d`, di, 3, { bias: true, init: { kind: 'normal', std: Math.sqrt(2 / 9) } });
    this.params = {
      xProjWeight: reg.add(`${p}.x_proj_weight`, [DIRECTIONS, r + 2 * n, di], { init: { kind: 'uniform', bound: di ** -0.5 } }) as tf.Tensor3D,
      dtProjsWeight: reg.add(`${p}.dt_projs_weight`, [DIRECTIONS, di, r], { init: { kind: 'uniform', bound: r ** -0.5 } }) as tf.Tensor3D,
      dtProjsBias: reg.add(`${p}.dt_projs_bias`, [DIRECTIONS, di], { init: { kind: 'dtBias', min: 1e-3, max: 0.1 } }) as tf.Tensor2D,
      aLogs: reg.add(`${p}.A_logs`, [DIRECTIONS * di, n], { init: { kind: 'aLog' } }) as tf.Tensor2D,
      ds: reg.add(`${p}.Ds`, [DIRECTIONS * di], { init: { kind: 'ones' } }) as tf.Tensor1D,
    };
    this.outNorm = new LayerNorm(reg, `${p}.out_norm`, di);
    this.outProj = new Linear(reg, `${p}.out_proj`, di, dModel);
    // The reference's scan-index buffers are identity permutations: kept for round-trips only.
    for (const [suffix, s] of [['', mapSide], ['1', mapSide / 2], ['2', mapSide / 4]] as const) {
      const side = Math.max(1, Math.floor(s));
      const idx = BigInt64Array.from({ length: side * side }, (_, i) => BigInt(i));
      reg.addInt(`${p}.scans.index_flat${suffix}`, [1, 1, side * side], idx);
      reg.addInt(`${p}.scans.index_flat_inv${suffix}`, [1, 1, side * side], idx.slice());
    }
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [xs, z] = tf.split(this.inProj.apply(x), 2, -1) as [tf.Tensor4D, tf.Tensor4D];
      const u = silu(this.conv.apply(xs));
      const y = this.outNorm.apply(pyramidScan(u, this.params, this.mode));
      return this.outProj.apply(tf.mul(y, silu(z))) as tf.Tensor4D;
    });
  }

  get innerWidth(): number {
    return this.dInner;
  }
}

export function silu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)) as T);
}

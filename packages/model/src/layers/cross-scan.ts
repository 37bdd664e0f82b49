/**
 * SS2D's four-direction selective scan of an NHWC map (the reference's `SS2D.scan4`).
 *
 * Directions: row-major, column-major (the transposed map), and the reverse of each. Per
 * direction k the tokens are projected by x_proj into (dt_low, B, C), dt_low by dt_proj into
 * the step sizes, then scanned with A = −exp(A_log); each output is mapped back to row-major
 * order and the four are summed. Works on rectangular maps.
 *
 * The projections are pointwise per token, so they are computed once, on the row-major tokens,
 * for all four directions (one product each), and the fused op `crossSelectiveScan` visits the
 * tokens in each direction's order itself: no re-ordered copy of the map is made.
 *
 * @example
 * const y = crossScan(x, params); // x [B,H,W,Di] → y [B,H,W,Di]
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../ops/matmul.ts';
import { crossSelectiveScan } from '../ops/scan/cross-selective-scan.ts';
import { ScanParamsError } from '../errors.ts';

/** Number of scan directions (row, column, reversed row, reversed column). */
export const SCAN_DIRECTIONS = 4;

/** SS2D's scan parameters, in the reference's (torch) layouts. */
export interface ScanParams {
  /** x_proj weights per direction, [K, R+2N, Di]: rows 0..R−1 give dt_low, then B (N), then C (N). */
  readonly xProjWeight: tf.Tensor3D;
  /** dt_proj weights per direction, [K, Di, R]. */
  readonly dtProjsWeight: tf.Tensor3D;
  /** dt_proj biases, [K, Di]: added to dt before the softplus. */
  readonly dtProjsBias: tf.Tensor2D;
  /** log(−A), [K·Di, N]. */
  readonly aLogs: tf.Tensor2D;
  /** Skip weights D, [K·Di]. */
  readonly ds: tf.Tensor1D;
}

/** Sizes implied by the parameters; throws if they disagree with each other or with Di. */
export function scanSizes(p: ScanParams, di: number): { K: number; R: number; N: number } {
  const K = SCAN_DIRECTIONS;
  const R = p.dtProjsWeight.shape[2];
  const N = p.aLogs.shape[1];
  const want: [string, readonly number[], number[]][] = [
    ['xProjWeight', p.xProjWeight.shape, [K, R + 2 * N, di]],
    ['dtProjsWeight', p.dtProjsWeight.shape, [K, di, R]],
    ['dtProjsBias', p.dtProjsBias.shape, [K, di]],
    ['aLogs', p.aLogs.shape, [K * di, N]],
    ['ds', p.ds.shape, [K * di]],
  ];
  for (const [name, got, exp] of want) {
    if (got.length !== exp.length || got.some((v, i) => v !== exp[i])) {
      throw new ScanParamsError(`crossScan: ${name} is [${got.join(',')}], expected [${exp.join(',')}] ` +
        `for Di=${di} (the map's channels), R=${R} (dtProjsWeight), N=${N} (aLogs)`);
    }
  }
  return { K, R, N };
}

/** The four directional selective scans of x [B,H,W,Di], mapped back to row-major and summed. */
export function crossScan(x: tf.Tensor4D, p: ScanParams): tf.Tensor4D {
  const [B, H, W, Di] = x.shape;
  const { K, R, N } = scanSizes(p, Di);
  return tf.tidy(() => {
    const tokens = tf.reshape(x, [B * H * W, Di]);
    // x_proj's rows regrouped by output kind, so that one 2-D product (the fast one on wasm)
    // gives every direction's dt_low, then B, then C: [tokens, K·R | K·N | K·N].
    const [wDt, wB, wC] = tf.split(p.xProjWeight, [R, N, N], 1).map((w) => tf.reshape(w, [-1, Di]));
    const proj = matMul(tokens, tf.concat([wDt, wB, wC]), false, true);
    const [dtLow, bs, cs] = tf.split(proj, [K * R, K * N, K * N], 1);
    // dt_proj of all directions as one product with a block-diagonal [K·R, K·Di] matrix: direction
    // k's [R, Di] block padded to the full width (a broadcast multiply by an identity mask, on
    // wasm, took ~3 ms forward and as much backward per block).
    const blocks = tf.concat(tf.unstack(tf.transpose(p.dtProjsWeight, [0, 2, 1])).map((w, k) => tf.pad(w, [[0, 0], [k * Di, (K - 1 - k) * Di]])), 0);
    const delta = matMul(dtLow, blocks); // [tokens, K·Di]
    const A = tf.neg(tf.exp(tf.reshape(p.aLogs, [K, Di, N])));
    return crossSelectiveScan(x, tf.reshape(delta, [B, H, W, K, Di]), A, tf.reshape(bs, [B, H, W, K, N]),
      tf.reshape(cs, [B, H, W, K, N]), tf.reshape(p.ds, [K, Di]), p.dtProjsBias);
  });
}

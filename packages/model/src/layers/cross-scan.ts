/**
 * SS2D's four-direction selective scan of an NHWC map (the reference's `SS2D.scan4`).
 *
 * Directions: row-major, column-major (the transposed map), and the reverse of each. Per
 * direction k the tokens are projected by x_proj into (dt_low, B, C), dt_low by dt_proj into
 * the step sizes, then scanned with A = −exp(A_log); each output is mapped back to row-major
 * order and the four are summed. Works on rectangular maps.
 *
 * @example
 * const y = crossScan(x, params); // x [B,H,W,Di] → y [B,H,W,Di]
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../ops/matmul.ts';
import { selectiveScan } from '../ops/selective-scan.ts';

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

export class ScanParamsError extends Error {
  readonly code = 'SCAN_PARAMS_SHAPE';
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
  const L = H * W;
  return tf.tidy(() => {
    const rows = tf.reshape(x, [B, L, Di]);
    const cols = tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, L, Di]);
    // Direction-major so that each projection is one batched product (matMul routes it through
    // 2-D products, which the wasm backend runs fast).
    const xs = tf.stack([rows, cols, tf.reverse(rows, 1), tf.reverse(cols, 1)]); // [K,B,L,Di]
    const proj = matMul(tf.reshape(xs, [K, B * L, Di]), p.xProjWeight, false, true); // [K,B·L,R+2N]
    const [dtLow, bs, cs] = tf.split(proj, [R, N, N], 2);
    const dts = matMul(dtLow, p.dtProjsWeight, false, true); // [K,B·L,Di]
    const batchMajor = (t: tf.Tensor, c: number) => tf.transpose(tf.reshape(t, [K, B, L, c]), [1, 0, 2, 3]);
    const A = tf.neg(tf.exp(tf.reshape(p.aLogs, [K, Di, N])));
    const y = selectiveScan(batchMajor(xs, Di), batchMajor(dts, Di), A, batchMajor(bs, N), batchMajor(cs, N),
      tf.reshape(p.ds, [K, Di]), p.dtProjsBias);
    const [yRow, yCol, yRowRev, yColRev] = tf.unstack(y, 1); // 4 × [B,L,Di]
    const fromRows = tf.reshape(tf.add(yRow, tf.reverse(yRowRev, 1)), [B, H, W, Di]);
    const fromCols = tf.transpose(tf.reshape(tf.add(yCol, tf.reverse(yColRev, 1)), [B, W, H, Di]), [0, 2, 1, 3]);
    return tf.add(fromRows, fromCols) as tf.Tensor4D;
  });
}

/**
 * Mamba's selective scan as one differentiable op (channel-last layout).
 *
 * Per batch b, direction k, channel d and state n:
 *   dt_t = softplus(delta_t + deltaBias);  h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·u_t  (h_{−1} = 0);
 *   y_t = Σ_n C_t[n]·h_t[d,n] + Ds·u_t.
 * Forward and backward are sequential scans over typed arrays (selective-scan-kernels.ts); only the
 * inputs are kept for the backward pass, which recomputes the states chunk by chunk.
 *
 * @example
 * const y = selectiveScan(u, delta, A, Bm, Cm, Ds, deltaBias); // [B,K,L,D]
 * const grads = tf.grads((u: tf.Tensor) => selectiveScan(u, delta, A, Bm, Cm, Ds, deltaBias).sum())([u]);
 */
import * as tf from '@tensorflow/tfjs-core';
import { scanBackward, scanForward, type ScanInputs, type ScanShape } from './selective-scan-kernels.ts';

export class SelectiveScanShapeError extends Error {
  readonly code = 'SELECTIVE_SCAN_SHAPE';
}

function shapeOf(u: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor, Ds: tf.Tensor, deltaBias: tf.Tensor): ScanShape {
  const fail = (what: string): never => {
    throw new SelectiveScanShapeError(`selectiveScan: ${what} (got u ${fmt(u)}, delta ${fmt(delta)}, A ${fmt(A)}, ` +
      `Bm ${fmt(Bm)}, Cm ${fmt(Cm)}, Ds ${fmt(Ds)}, deltaBias ${fmt(deltaBias)}; expected u, delta [B,K,L,D], ` +
      `A [K,D,N], Bm, Cm [B,K,L,N], Ds, deltaBias [K,D])`);
  };
  if (u.rank !== 4) fail('u must be rank 4');
  const [B, K, L, D] = u.shape as number[];
  if (A.rank !== 3) fail('A must be rank 3');
  const N = (A.shape as number[])[2];
  const same = (t: tf.Tensor, s: number[]) => t.rank === s.length && t.shape.every((v, i) => v === s[i]);
  if (!same(delta, [B, K, L, D])) fail('delta must have the shape of u');
  if (!same(A, [K, D, N])) fail('A must be [K,D,N]');
  if (!same(Bm, [B, K, L, N])) fail('Bm must be [B,K,L,N]');
  if (!same(Cm, [B, K, L, N])) fail('Cm must be [B,K,L,N]');
  if (!same(Ds, [K, D])) fail('Ds must be [K,D]');
  if (!same(deltaBias, [K, D])) fail('deltaBias must be [K,D]');
  for (const t of [u, delta, A, Bm, Cm, Ds, deltaBias]) if (t.dtype !== 'float32') fail('all inputs must be float32');
  return { B, K, L, D, N };
}

const fmt = (t: tf.Tensor) => `[${t.shape.join(',')}]${t.dtype === 'float32' ? '' : ` ${t.dtype}`}`;

function read(ts: tf.Tensor[]): ScanInputs {
  const [u, delta, A, Bm, Cm, Ds, deltaBias] = ts.map((t) => t.dataSync() as Float32Array);
  return { u, delta, A, Bm, Cm, Ds, deltaBias };
}

const scanOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const inputs = args.slice(0, 7) as tf.Tensor[];
  const save = args[7] as tf.GradSaveFunc;
  const [u, delta, A, Bm, Cm, Ds, deltaBias] = inputs;
  const shape = shapeOf(u, delta, A, Bm, Cm, Ds, deltaBias);
  save(inputs);
  const y = scanForward(read(inputs), shape);
  return {
    value: tf.tensor4d(y, u.shape as [number, number, number, number]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const g = scanBackward(read(saved), dy.dataSync() as Float32Array, shape);
      return [
        tf.tensor(g.u, u.shape), tf.tensor(g.delta, delta.shape), tf.tensor(g.A, A.shape),
        tf.tensor(g.Bm, Bm.shape), tf.tensor(g.Cm, Cm.shape), tf.tensor(g.Ds, Ds.shape),
        tf.tensor(g.deltaBias, deltaBias.shape),
      ];
    },
  };
});

/**
 * y = selective scan; u, delta: [B,K,L,D]; A: [K,D,N] (already negative: A = −exp(A_log));
 * Bm, Cm: [B,K,L,N]; Ds, deltaBias: [K,D] → y [B,K,L,D]. Gradients flow to all seven inputs.
 */
export function selectiveScan(u: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor,
  Ds: tf.Tensor, deltaBias: tf.Tensor): tf.Tensor4D {
  shapeOf(u, delta, A, Bm, Cm, Ds, deltaBias);
  return scanOp(u, delta, A, Bm, Cm, Ds, deltaBias) as tf.Tensor4D;
}

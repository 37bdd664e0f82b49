/**
 * Mamba's selective scan as one differentiable op (channel-last layout).
 *
 * Per batch b, direction k, channel d and state n:
 *   dt_t = softplus(delta_t + deltaBias);  h_t = exp(dt_t·A) ⊙ h_{t−1} + dt_t·B_t·u_t  (h_{−1} = 0);
 *   y_t = Σ_n C_t[n]·h_t[d,n] + Ds·u_t.
 * All inputs float32. Forward and backward are sequential scans over typed arrays
 * (selective-scan-kernels.ts); only the inputs are kept for the backward pass, which recomputes the
 * states. The softplus and its derivative run as tensor ops, which the backends vectorise.
 *
 * @example
 * const y = selectiveScan(u, delta, A, Bm, Cm, Ds, deltaBias); // [B,K,L,D]
 * const [du] = tf.grads((x: tf.Tensor) => tf.sum(selectiveScan(x, delta, A, Bm, Cm, Ds, deltaBias)))([u]);
 */
import * as tf from '@tensorflow/tfjs-core';
import { scanBackward, scanForward, type ScanInputs, type ScanShape } from '../../src/ops/scan/selective-scan-kernels.ts';

export class SelectiveScanShapeError extends Error {
  readonly code = 'E_SELECTIVE_SCAN_SHAPE';
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

/** x = delta + deltaBias, broadcast over batch and time. */
function preActivation(delta: tf.Tensor, deltaBias: tf.Tensor): tf.Tensor {
  const [K, D] = deltaBias.shape as number[];
  return tf.add(delta, tf.reshape(deltaBias, [1, K, 1, D]));
}

/** The kernels' inputs; dt = softplus(delta + bias) is computed by the backend (vectorised). */
function kernelInputs(u: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor, Ds: tf.Tensor,
  deltaBias: tf.Tensor): ScanInputs {
  const f32 = (t: tf.Tensor) => t.dataSync() as Float32Array;
  // Not tf.tidy(() => array): tidy walks a returned typed array element by element.
  const dtTensor = tf.tidy(() => tf.softplus(preActivation(delta, deltaBias)));
  const dt = f32(dtTensor);
  dtTensor.dispose();
  return { u: f32(u), dt, A: f32(A), Bm: f32(Bm), Cm: f32(Cm), Ds: f32(Ds) };
}

const scanOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const inputs = args.slice(0, 7) as tf.Tensor[];
  const save = args[7] as tf.GradSaveFunc;
  const [u, delta, A, Bm, Cm, Ds, deltaBias] = inputs;
  const shape = shapeOf(u, delta, A, Bm, Cm, Ds, deltaBias);
  save(inputs); // only the inputs: backward recomputes the states
  const y = scanForward(kernelInputs(u, delta, A, Bm, Cm, Ds, deltaBias), shape);
  return {
    value: tf.tensor4d(y, u.shape as [number, number, number, number]),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
      const [su, sDelta, sA, sB, sC, sDs, sBias] = saved;
      const g = scanBackward(kernelInputs(su, sDelta, sA, sB, sC, sDs, sBias), dy.dataSync() as Float32Array, shape);
      // d softplus(x)/dx = sigmoid(x)
      const gDelta = tf.mul(tf.tensor(g.dt, delta.shape), tf.sigmoid(preActivation(sDelta, sBias)));
      return [
        tf.tensor(g.u, u.shape), gDelta, tf.tensor(g.A, A.shape), tf.tensor(g.Bm, Bm.shape), tf.tensor(g.Cm, Cm.shape),
        tf.tensor(g.Ds, Ds.shape), tf.sum(gDelta, [0, 2]),
      ];
    }),
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

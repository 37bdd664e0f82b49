/**
 * The selective scan's recurrence as tfjs ops, with its gradient written out, on direction-major
 * sequences: for direction k, batch element b, step t, channel d and state n
 *   h_t = exp(dt_t·A[k]) ⊙ h_{t−1} + x_t·B_t   (h_{−1} = 0, x = dt·u),   y_t[d] = Σ_n C_t[n]·h_t[d,n].
 * The step sizes' softplus, dt·u, the D skip and the direction orders are left to the caller
 * (cross-selective-scan-ops.ts), whose plain ops tfjs differentiates itself.
 *
 * Everything of size K·B·T·D·N (decays, inputs, states, adjoints) is a handful of whole-tensor
 * ops around linearScan (linear-scan-ops.ts), so the op stays on the backend's device. The
 * gradient is by hand rather than autodiff through the scan, for memory: autodiff would keep
 * every doubling step's tensors; here only the inputs are saved and the backward pass recomputes
 * the states, then runs the adjoint recurrence G_t = C_t·dy_t + a_{t+1} ⊙ G_{t+1} as a reversed
 * scan (as torch_fast_scan.py's backward does), with Q_t = G_t ⊙ a_t ⊙ h_{t−1} = ∂loss/∂(dt_t·A):
 *   ∂dt = Σ_n Q·A,  ∂x = Σ_n G·B,  ∂A = Σ_{b,t} Q·dt,  ∂B = Σ_d G·x,  ∂C = Σ_d dy·h.
 *
 * @example
 * const y = selectiveScanOps(dt, tf.mul(dt, u), A, Bs, Cs); // dt, u [K,B,T,D]; A [K,D,N]; Bs, Cs [K,B,T,N]
 */
import * as tf from '@tensorflow/tfjs-core';
import { linearScan, shiftSteps } from './linear-scan-ops.ts';

interface Sizes { K: number; B: number; T: number; D: number; N: number }

function sizesOf(dt: tf.Tensor, A: tf.Tensor): Sizes {
  const [K, B, T, D] = dt.shape as number[];
  return { K, B, T, D, N: (A.shape as number[])[2] };
}

/** Decays a = exp(dt·A) and inputs x·B, each [K·B, T, D·N]. */
function pairs(dt: tf.Tensor, x: tf.Tensor, A: tf.Tensor, Bs: tf.Tensor, s: Sizes): [tf.Tensor3D, tf.Tensor3D] {
  const { K, B, T, D, N } = s;
  return tf.tidy(() => {
    const a = tf.exp(tf.mul(tf.reshape(dt, [K, B, T, D, 1]), tf.reshape(A, [K, 1, 1, D, N])));
    const b = tf.mul(tf.reshape(x, [K, B, T, D, 1]), tf.reshape(Bs, [K, B, T, 1, N]));
    return [tf.reshape(a, [K * B, T, D * N]), tf.reshape(b, [K * B, T, D * N])] as [tf.Tensor3D, tf.Tensor3D];
  });
}

/** The states h [K·B, T, D·N]. */
function states(dt: tf.Tensor, x: tf.Tensor, A: tf.Tensor, Bs: tf.Tensor, s: Sizes): { a: tf.Tensor3D; h: tf.Tensor3D } {
  const [a, b] = pairs(dt, x, A, Bs, s);
  const h = linearScan(a, b);
  b.dispose();
  return { a, h };
}

/** Per token, [D,N] × [N] or [D] × [D,N] as one batched product: [K·B·T, ·, ·]. */
const perToken = (t: tf.Tensor, s: Sizes, rows: number, cols: number) => tf.reshape(t, [s.K * s.B * s.T, rows, cols]) as tf.Tensor3D;

const scanOp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [dt, x, A, Bs, Cs] = args.slice(0, 5) as tf.Tensor[];
  const save = args[5] as tf.GradSaveFunc;
  const s = sizesOf(dt, A);
  const { K, B, T, D, N } = s;
  save([dt, x, A, Bs, Cs]); // only the inputs: the backward pass recomputes the states
  const value = tf.tidy(() => {
    const { a, h } = states(dt, x, A, Bs, s);
    a.dispose();
    return tf.reshape(tf.matMul(perToken(h, s, D, N), perToken(Cs, s, N, 1)), [K, B, T, D]);
  });
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sdt, sx, sA, sB, sC] = saved;
      return tf.tidy(() => {
        const { a, h } = states(sdt, sx, sA, sB, s);
        const dC = tf.reshape(tf.matMul(perToken(dy, s, 1, D), perToken(h, s, D, N)), [K, B, T, N]);
        // Adjoint: G_t = C_t·dy_t + a_{t+1} ⊙ G_{t+1}, a reversed scan with the decays one step on.
        const G = tf.tidy(() => {
          const c = tf.reshape(tf.mul(tf.reshape(dy, [K, B, T, D, 1]), tf.reshape(sC, [K, B, T, 1, N])), [K * B, T, D * N]) as tf.Tensor3D;
          return linearScan(shiftSteps(a, 1, true, 0), c, true);
        });
        const Q = tf.tidy(() => tf.reshape(tf.mul(tf.mul(G, a), shiftSteps(h, 1, false, 0)), [K, B, T, D, N]));
        tf.dispose([a, h]);
        const dA = tf.tidy(() => {
          const qdt = tf.reshape(tf.mul(Q, tf.reshape(sdt, [K, B, T, D, 1])), [K, B * T, D * N]) as tf.Tensor3D;
          return tf.reshape(tf.matMul(tf.ones([K, 1, B * T]), qdt), [K, D, N]);
        });
        const ddt = tf.tidy(() => tf.sum(tf.mul(Q, tf.reshape(sA, [K, 1, 1, D, N])), -1));
        Q.dispose();
        const dx = tf.reshape(tf.matMul(perToken(G, s, D, N), perToken(sB, s, N, 1)), [K, B, T, D]);
        const dB = tf.reshape(tf.matMul(perToken(sx, s, 1, D), perToken(G, s, D, N)), [K, B, T, N]);
        return [ddt, dx, dA, dB, dC];
      });
    },
  };
});

/**
 * y [K,B,T,D] of the recurrence over steps (axis 2) per direction and batch element.
 * dt, x: [K,B,T,D] (step sizes, x = dt·u); A: [K,D,N]; Bs, Cs: [K,B,T,N]. Gradients flow to all five.
 */
export function selectiveScanOps(dt: tf.Tensor, x: tf.Tensor, A: tf.Tensor, Bs: tf.Tensor, Cs: tf.Tensor): tf.Tensor {
  return scanOp(dt, x, A, Bs, Cs);
}

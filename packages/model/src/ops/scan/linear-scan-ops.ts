/**
 * The linear recurrence under the selective scan, h_t = a_t ⊙ h_{t−1} + b_t (h_{−1} = 0), along
 * axis 1 of [M,T,E] tensors — or reversed, h_t = a_t ⊙ h_{t+1} + b_t (h_T = 0) — in O(log T)
 * whole-tensor tfjs ops, so that it runs where the tensors live (a GPU), not one op per step.
 *
 * A Blelloch-style odd–even recursion over the pairs (a, b), whose composition is associative:
 * steps 2i and 2i+1 are combined into one, the half-length recurrence is solved recursively
 * (its states are those after each pair), and the other step of each pair follows from its
 * neighbour's state in one multiply-add. Each level halves the work, so the whole scan costs
 * about two passes' worth of element-wise work per level-0 tensor. At HILLIS_STEELE_STEPS steps
 * or fewer, the base case is a Hillis–Steele scan (log2 of that many doubling steps, on a tensor
 * that small). A chunked Hillis–Steele scan (chunks of 16 scanned at once, then their carries),
 * tried first, computes the same with ~2.4× the memory traffic and measured 1.5–2× slower on wasm.
 *
 * Decays are only ever multiplied (no exp(−cumsum) factorisation, which overflows float32 once
 * Σ dt·|A| over a chunk passes ~88): with a ∈ [0, 1] the products only shrink toward 0.
 * Nothing here is differentiated: callers write the recurrence's gradient (selective-scan-ops.ts).
 *
 * @example
 * const h = linearScan(a, b);        // a, b [M,T,E] → h [M,T,E]
 * const g = linearScan(a, c, true);  // the reverse recurrence (a backward pass's adjoint)
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Longest recurrence solved by Hillis–Steele directly. Its log2(L)·L work is fine on a tensor
 * T/L times smaller than the input; each odd–even level it replaces would be ~12 small ops.
 */
export const HILLIS_STEELE_STEPS = 16;

/**
 * x moved s steps along axis 1 toward later steps (toward earlier ones when `reverse`), the s
 * steps it leaves filled with `fill`: step t then holds x's step t − s (t + s).
 */
export function shiftSteps(x: tf.Tensor3D, s: number, reverse: boolean, fill: number): tf.Tensor3D {
  const [M, T, E] = x.shape;
  if (s >= T) return tf.fill([M, T, E], fill);
  return tf.tidy(() => tf.pad(tf.slice(x, [0, reverse ? s : 0, 0], [M, T - s, E]), [[0, 0], reverse ? [0, s] : [s, 0], [0, 0]], fill));
}

/**
 * Hillis–Steele inclusive scan along axis 1: the state from zero at every step. Leaves its inputs
 * alone; each doubling step's tensors are freed as soon as the next exist.
 */
function hillisSteele(a: tf.Tensor3D, b: tf.Tensor3D, reverse: boolean): tf.Tensor3D {
  const T = a.shape[1];
  if (T === 1) return tf.clone(b);
  let ac = a;
  let bc = b;
  for (let s = 1; s < T; s *= 2) {
    const [av, bv] = [ac, bc];
    // Step t absorbs step t − s (t + s): (a, b) ∘ (a′, b′) = (a·a′, a·b′ + b); none there: identity (1, 0).
    bc = tf.tidy(() => tf.add(tf.mul(av, shiftSteps(bv, s, reverse, 0)), bv) as tf.Tensor3D);
    if (2 * s < T) ac = tf.tidy(() => tf.mul(av, shiftSteps(av, s, reverse, 1)) as tf.Tensor3D);
    if (av !== a) av.dispose();
    if (bv !== b) bv.dispose();
  }
  return bc;
}

/**
 * Step pairs (2i, 2i+1) of x [M,T,E] split into the step applied first (the earlier one; the
 * later when reversed) and second, each [M,⌈T/2⌉,E]. An odd T gets one more step, filled with
 * `fill`: as the identity (a, b) = (1, 0) it changes no real step's state in either direction.
 */
function pairHalves(x: tf.Tensor3D, reverse: boolean, fill: number): [tf.Tensor3D, tf.Tensor3D] {
  const [M, T, E] = x.shape;
  const P = Math.ceil(T / 2);
  return tf.tidy(() => {
    const pairs = tf.reshape(T % 2 ? tf.pad(x, [[0, 0], [0, 1], [0, 0]], fill) : x, [M, P, 2, E]);
    const half = (i: number) => tf.reshape(tf.slice(pairs, [0, 0, i, 0], [M, P, 1, E]), [M, P, E]) as tf.Tensor3D;
    return reverse ? [half(1), half(0)] : [half(0), half(1)];
  });
}

/** h of the recurrence along axis 1 of a, b [M,T,E] (see the file comment); a ∈ [0, 1]. Leaves its inputs alone. */
export function linearScan(a: tf.Tensor3D, b: tf.Tensor3D, reverse = false): tf.Tensor3D {
  const [M, T, E] = a.shape;
  if (T <= HILLIS_STEELE_STEPS) return hillisSteele(a, b, reverse);
  const [aFirst, aSecond] = pairHalves(a, reverse, 1);
  const [bFirst, bSecond] = pairHalves(b, reverse, 0);
  // The pair as one step: (aS, bS) ∘ (aF, bF) = (aS·aF, aS·bF + bS).
  const [aPair, bPair] = tf.tidy(() => [tf.mul(aSecond, aFirst), tf.add(tf.mul(aSecond, bFirst), bSecond)] as tf.Tensor3D[]);
  tf.dispose([aSecond, bSecond]);
  const hSecond = linearScan(aPair, bPair, reverse); // the state after each pair
  tf.dispose([aPair, bPair]);
  const h = tf.tidy(() => {
    // A pair's first step starts from the state after the previous pair (the next one, reversed).
    const hFirst = tf.add(tf.mul(aFirst, shiftSteps(hSecond, 1, reverse, 0)), bFirst);
    const P = hSecond.shape[1];
    const steps = tf.reshape(tf.stack(reverse ? [hSecond, hFirst] : [hFirst, hSecond], 2), [M, 2 * P, E]);
    return (2 * P > T ? tf.slice(steps, [0, 0, 0], [M, T, E]) : steps) as tf.Tensor3D;
  });
  tf.dispose([aFirst, bFirst, hSecond]);
  return h;
}

import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.stridedSlice` for positive strides, differentiable: tfjs registers no StridedSlice gradient
 * on any backend. Built from slice, pad and reshape, whose gradients every backend has: per axis
 * with stride s the window is padded to a multiple of s, split into [len / s, s] and the first of
 * each s kept.
 *
 * ```ts
 * const y = stridedSlice(x, [0, 0, 0, 0], [n, h, w, c], [1, 2, 2, 1]); // x[:, ::2, ::2, :]
 * ```
 * @param begin first index per axis (negative counts from the end)
 * @param end one past the last index per axis (negative counts from the end; clamped to the size)
 * @param strides positive step per axis
 */
export function stridedSlice<T extends tf.Tensor>(x: T, begin: number[], end: number[], strides: number[]): T {
  const rank = x.rank;
  if (begin.length !== rank || end.length !== rank || strides.length !== rank) {
    throw new RangeError(`stridedSlice: begin, end and strides need one entry per axis of x ${x.shape}; got ${begin.length}, ${end.length}, ${strides.length}`);
  }
  if (strides.some((s) => !Number.isInteger(s) || s < 1)) throw new RangeError(`stridedSlice: strides must be positive integers; got ${strides}`);
  const start = x.shape.map((d, i) => clamp(begin[i] < 0 ? begin[i] + d : begin[i], d));
  const stop = x.shape.map((d, i) => clamp(end[i] < 0 ? end[i] + d : end[i], d));
  const size = start.map((b, i) => Math.max(0, stop[i] - b));
  return tf.tidy(() => {
    let y: tf.Tensor = tf.slice(x, start, size);
    for (let axis = 0; axis < rank; axis++) {
      const s = strides[axis];
      if (s === 1 || y.shape[axis] === 0) continue;
      const len = y.shape[axis];
      const kept = Math.ceil(len / s);
      const padding = y.shape.map((_, i): [number, number] => [0, i === axis ? kept * s - len : 0]);
      const split = [...y.shape.slice(0, axis), kept, s, ...y.shape.slice(axis + 1)];
      const firsts = tf.slice(tf.reshape(tf.pad(y, padding), split), split.map(() => 0), split.map((d, i) => (i === axis + 1 ? 1 : d)));
      y = tf.reshape(firsts, y.shape.map((d, i) => (i === axis ? kept : d)));
    }
    return y as T;
  });
}

function clamp(i: number, d: number): number {
  return Math.min(Math.max(i, 0), d);
}

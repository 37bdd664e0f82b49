import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.gather` along one axis with 1-D indices, with a gradient the wasm backend can run: tfjs's
 * gather gradient needs UnsortedSegmentSum, which wasm lacks. The gradient scatters dy back with
 * ScatterNd, which sums repeated indices.
 *
 * ```ts
 * const rows = gather(x, [2, 0, 2], 0); // x[[2, 0, 2]]
 * ```
 */
export function gather<T extends tf.Tensor>(x: T, indices: tf.Tensor1D | number[], axis = 0): T {
  const ax = axis < 0 ? axis + x.rank : axis;
  if (ax < 0 || ax >= x.rank) throw new RangeError(`gather: axis ${axis} is outside x ${x.shape}`);
  const idx = Array.isArray(indices) ? tf.tensor1d(indices, 'int32') : indices;
  if (idx.rank !== 1) throw new RangeError(`gather: indices must be 1-D; got shape ${idx.shape}`);
  // The indices ride along as an input so the tape keeps them (saved) until the backward pass.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, ii] = args as [tf.Tensor, tf.Tensor1D];
    const save = args[2] as tf.GradSaveFunc;
    save([ii]);
    return {
      value: tf.gather(xi, ii, ax),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const kept = saved[0];
        // Move the gathered axis first, scatter-add rows back, move it back.
        const perm = [ax, ...dy.shape.map((_, i) => i).filter((i) => i !== ax)];
        const inverse = perm.map((_, i) => perm.indexOf(i));
        const front = tf.transpose(dy, perm);
        const summed = tf.scatterND(tf.reshape(kept, [-1, 1]), front, [xi.shape[ax], ...front.shape.slice(1)]);
        return [tf.transpose(summed, inverse), tf.zerosLike(kept)];
      }),
    };
  });
  const y = op(x, idx) as T;
  if (idx !== indices) idx.dispose();
  return y;
}

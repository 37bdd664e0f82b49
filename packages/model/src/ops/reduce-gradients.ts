import * as tf from '@tensorflow/tfjs-core';

/**
 * Sum's and Mean's gradients as tfjs-core computes them — dy broadcast back over the reduced axes
 * by a multiply with ones — but with the ones made by the Fill kernel, in the backend's memory,
 * instead of tf.ones, which fills a JS array of the input's size and copies it in: on wasm, for a
 * [1,64,64,128] input, 0.19 ms against 1.34 ms, for every LayerNorm's two means in every step.
 * Registered over tfjs-core's by register-tfjs-gradients.ts; the values are the same.
 */
function broadcastBack(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.mul(tf.reshape(dy, expanded), tf.fill(x.shape, 1, 'float32'));
}

export function registerReduceGradients(): void {
  tf.registerGradient({
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => broadcastBack(dy as tf.Tensor, x, (attrs as unknown as tf.SumAttrs).axis) }),
  });
  tf.registerGradient({
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const { axis } = attrs as unknown as tf.MeanAttrs;
        const reduced = tf.util.parseAxisParam(axis, x.shape).reduce((n, a) => n * x.shape[a], 1);
        return tf.div(broadcastBack(dy as tf.Tensor, x, axis), reduced);
      },
    }),
  });
}

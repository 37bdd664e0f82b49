/** The wasm backend's Identity replaced by a shared buffer (src/ops/wasm-kernels.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/index.ts';

test('wasm Identity shares the buffer: no new data, and the clone outlives its source', async () => {
  await useBackend('wasm', () => {});
  const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const before = tf.engine().backend.numDataIds();
  const y = tf.clone(x);
  assert.equal(tf.engine().backend.numDataIds(), before, 'a clone makes no new buffer');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6]);
  y.dispose();
  assert.equal(tf.engine().backend.numDataIds(), before - 1, 'the buffer goes with its last tensor');
});

test('wasm Identity: gradients a custom op keeps (engine clones) are still right', async () => {
  await useBackend('wasm', () => {});
  const square = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return { value: tf.mul(x, x), gradFunc: (dy: tf.Tensor, [sx]: tf.Tensor[]) => tf.mul(dy, tf.mul(sx, 2)) };
  });
  const x = tf.tensor1d([1, -2, 3]);
  const g = tf.grad((v: tf.Tensor) => tf.sum(square(v) as tf.Tensor))(x);
  assert.deepEqual(Array.from(g.dataSync()), [2, -4, 6]);
  tf.dispose([x, g]);
});

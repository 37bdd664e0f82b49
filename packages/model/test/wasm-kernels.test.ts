/** The wasm backend's Identity, Transpose, Slice, SplitV, Concat, PadV2 and Reverse replaced (src/ops/wasm-kernels.ts, heap-kernels.ts, heap-copy.ts). */
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

test('wasm Transpose: matrix and batched-matrix transposes in SIMD blocks equal the cpu backend\'s, odd sizes and int32 included', async () => {
  await import('@tensorflow/tfjs-backend-cpu');
  const cases: [number[], number[], 'float32' | 'int32'][] = [
    [[64, 200], [1, 0], 'float32'], [[7, 13], [1, 0], 'float32'], [[130, 67], [1, 0], 'int32'],
    [[3, 5, 9], [0, 2, 1], 'float32'], [[2, 33, 1, 70], [0, 3, 2, 1], 'float32'], // merges to a batch of 33 × 70 matrices
    [[4, 6, 8], [1, 0, 2], 'float32'], [[2, 3, 4, 5], [3, 1, 0, 2], 'float32'], // tfjs's own kernel
  ];
  const values = (shape: number[], dtype: string) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => dtype === 'int32' ? i * 7 - 300 : Math.sin(i) * 1e3);
  const run = () => cases.map(([shape, perm, dtype]) => tf.tidy(() =>
    Array.from(tf.transpose(tf.tensor(values(shape, dtype), shape, dtype), perm).dataSync())));
  await useBackend('wasm', () => {});
  const wasm = run();
  await tf.setBackend('cpu');
  const cpu = run();
  await tf.setBackend('wasm');
  cases.forEach(([shape, perm], i) => assert.deepEqual(wasm[i], cpu[i], `transpose ${shape} by ${perm}`));
});

test('wasm Slice, SplitV, Concat, PadV2 and Reverse moved in the heap equal the cpu backend\'s, int32 and edge cases included', async () => {
  await import('@tensorflow/tfjs-backend-cpu');
  const values = (shape: number[], dtype: string) => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => dtype === 'int32' ? i * 7 - 300 : Math.sin(i) * 1e3);
  const t = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => tf.tensor(values(shape, dtype), shape, dtype);
  const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ['slice rows', () => tf.slice(t([9, 16]), [2, 0], [4, 16])],
    ['slice columns', () => tf.slice(t([7, 13]), [1, 3], [5, 6])],
    ['slice rank 4 inner box', () => tf.slice(t([3, 5, 6, 4]), [1, 1, 2, 1], [2, 3, 3, 2])],
    ['slice rank 5 int32', () => tf.slice(t([2, 3, 2, 4, 3], 'int32'), [1, 0, 1, 1, 0], [1, 3, 1, 2, 3])],
    ['slice whole and empty', () => [tf.slice(t([4, 5]), [0, 0], [4, 5]), tf.slice(t([4, 5]), [1, 2], [0, 3])]],
    ['split columns by sizes', () => tf.split(t([6, 10]), [2, 3, 5], 1)],
    ['split rank 4 on axis 2', () => tf.split(t([2, 3, 8, 5], 'int32'), 4, 2)],
    ['concat columns', () => tf.concat([t([4, 3]), t([4, 5]), t([4, 1])], 1)],
    ['concat rows, an empty one among them', () => tf.concat([t([2, 6]), t([0, 6]), t([3, 6])], 0)],
    ['concat rank 4 on axis 2, int32', () => tf.concat([t([2, 3, 2, 4], 'int32'), t([2, 3, 5, 4], 'int32')], 2)],
    ['pad rank 2', () => tf.pad(t([4, 5]), [[1, 2], [0, 3]])],
    ['pad rank 4 with a value', () => tf.pad(t([2, 3, 4, 5]), [[0, 0], [2, 1], [1, 1], [0, 2]], 1.5)],
    ['pad int32', () => tf.pad(t([3, 4], 'int32'), [[2, 0], [1, 1]], 7)],
    ['reverse leading axes', () => tf.reverse(t([3, 3, 4, 5]), [0, 1])],
    ['reverse axis 0 int32', () => tf.reverse(t([5, 6], 'int32'), 0)],
    ['reverse a trailing axis (tfjs\'s kernel)', () => tf.reverse(t([3, 4, 5]), [2])],
  ];
  const run = () => cases.map(([, f]) => tf.tidy(() => [f()].flat().map((r) => ({ shape: r.shape, dtype: r.dtype, data: Array.from(r.dataSync()) }))));
  await useBackend('wasm', () => {});
  const wasm = run();
  await tf.setBackend('cpu');
  const cpu = run();
  await tf.setBackend('wasm');
  cases.forEach(([name], i) => assert.deepEqual(wasm[i], cpu[i], name));
});

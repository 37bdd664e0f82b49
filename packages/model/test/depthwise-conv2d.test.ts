import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '../src/ops/register-tfjs-gradients.ts';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { depthwiseConv2d } from '../src/ops/depthwise-conv2d.ts';
import { randn, relErr } from './support/helpers.ts';


interface Case { n: number; h: number; w: number; c: number; k: number; bias: boolean }

interface Result { y: Float32Array; dx: Float32Array; df: Float32Array; db?: Float32Array }

/** Output and gradients of Σ(conv(x)·r) for a fixed random r, with `conv` run on `backend`. */
async function run(backend: 'cpu' | 'wasm', c: Case, impl: 'ours' | 'tfjs'): Promise<Result> {
  await tf.setBackend(backend);
  const pad = Math.floor(c.k / 2);
  return tf.tidy(() => {
    const x = tf.tensor4d(randn(c.n * c.h * c.w * c.c, 11), [c.n, c.h, c.w, c.c]);
    const f = tf.tensor4d(randn(c.k * c.k * c.c, 12), [c.k, c.k, c.c, 1]);
    const b = tf.tensor1d(randn(c.c, 13));
    const r = tf.tensor4d(randn(c.n * c.h * c.w * c.c, 14), [c.n, c.h, c.w, c.c]);
    const conv = (xi: tf.Tensor, fi: tf.Tensor, bi?: tf.Tensor): tf.Tensor4D => {
      if (impl === 'ours') return depthwiseConv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, pad, bi as tf.Tensor1D | undefined);
      const y = tf.depthwiseConv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, 1, pad);
      return bi ? tf.add(y, bi) : y;
    };
    const y = conv(x, f, c.bias ? b : undefined);
    const grads = c.bias
      ? tf.grads((xi: tf.Tensor, fi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(conv(xi, fi, bi), r)))([x, f, b])
      : tf.grads((xi: tf.Tensor, fi: tf.Tensor) => tf.sum(tf.mul(conv(xi, fi), r)))([x, f]);
    return {
      y: y.dataSync() as Float32Array,
      dx: grads[0].dataSync() as Float32Array,
      df: grads[1].dataSync() as Float32Array,
      db: c.bias ? grads[2].dataSync() as Float32Array : undefined,
    };
  });
}

const CASES: Case[] = [
  { n: 2, h: 8, w: 8, c: 6, k: 3, bias: true },
  { n: 1, h: 9, w: 7, c: 5, k: 3, bias: false },
  { n: 2, h: 10, w: 10, c: 4, k: 5, bias: false },
  { n: 1, h: 7, w: 9, c: 3, k: 5, bias: true },
  { n: 2, h: 12, w: 11, c: 4, k: 7, bias: false },
  { n: 1, h: 6, w: 6, c: 8, k: 7, bias: true },
  { n: 2, h: 5, w: 6, c: 3, k: 1, bias: true },
];

describe('depthwiseConv2d (custom gradient) on wasm vs tf.depthwiseConv2d gradients on cpu', () => {
  for (const c of CASES) {
    const name = `${c.n}×${c.h}×${c.w}×${c.c}, k${c.k}${c.bias ? ' +bias' : ''}`;
    test(name, async () => {
      const ref = await run('cpu', c, 'tfjs');
      const ours = await run('wasm', c, 'ours');
      assert.ok(relErr(ours.y, ref.y) < 1e-4, `forward rel err ${relErr(ours.y, ref.y)}`);
      assert.ok(relErr(ours.dx, ref.dx) < 1e-4, `dx rel err ${relErr(ours.dx, ref.dx)}`);
      assert.ok(relErr(ours.df, ref.df) < 1e-4, `dfilter rel err ${relErr(ours.df, ref.df)}`);
      if (c.bias) assert.ok(relErr(ours.db!, ref.db!) < 1e-4, `dbias rel err ${relErr(ours.db!, ref.db!)}`);
    });
  }
});

test('depthwiseConv2d\'s gradient also runs on the cpu backend (k7)', async () => {
  const c = CASES[4];
  const ref = await run('cpu', c, 'tfjs');
  const ours = await run('cpu', c, 'ours');
  for (const key of ['y', 'dx', 'df'] as const) assert.ok(relErr(ours[key], ref[key]) < 1e-4, `${key}: rel err ${relErr(ours[key], ref[key])}`);
});

describe('depthwiseConv2d semantics', () => {
  before(async () => { await tf.setBackend('wasm'); });

  test('padding k // 2 keeps the size and pads with zeros (3×3 ones over 0..15 on 4×4)', () => {
    const y = tf.tidy(() => depthwiseConv2d(tf.reshape(tf.range(0, 16), [1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1));
    assert.deepEqual(y.shape, [1, 4, 4, 1]);
    assert.deepEqual(Array.from(y.dataSync()), [10, 18, 24, 18, 27, 45, 54, 39, 51, 81, 90, 63, 42, 66, 72, 50]);
    y.dispose();
  });

  test('a channel multiplier other than 1 is refused', () => {
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 2, 2]) as tf.Tensor4D;
    assert.throws(() => depthwiseConv2d(x, f, 1), /channel multiplier must be 1/);
    tf.dispose([x, f]);
  });

  test('forward and backward leave no tensors behind', () => {
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const f = tf.variable(tf.randomNormal([7, 7, 3, 1]));
    const b = tf.variable(tf.zeros([3]));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(depthwiseConv2d(x, f as tf.Tensor4D, 3, b as tf.Tensor1D)) as tf.Scalar);
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, f, b]);
  });
});

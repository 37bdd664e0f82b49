import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '../src/ops/register-tfjs-gradients.ts';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { conv2d } from '../src/ops/conv2d.ts';
import { randn, relErr } from './support/helpers.ts';


interface Case { n: number; h: number; w: number; cin: number; cout: number; k: number; stride: 1 | 2; bias: boolean }

interface Result { y: Float32Array; dx: Float32Array; df: Float32Array; db?: Float32Array }

/** Output and gradients of Σ(conv(x)·r) for a fixed random r, with `conv` run on `backend`. */
async function run(backend: 'cpu' | 'wasm', c: Case, impl: 'ours' | 'tfjs'): Promise<Result> {
  await tf.setBackend(backend);
  const pad = Math.floor(c.k / 2);
  const ho = Math.floor((c.h + 2 * pad - c.k) / c.stride) + 1;
  const wo = Math.floor((c.w + 2 * pad - c.k) / c.stride) + 1;
  return tf.tidy(() => {
    const x = tf.tensor4d(randn(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
    const f = tf.tensor4d(randn(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
    const b = tf.tensor1d(randn(c.cout, 3));
    const r = tf.tensor4d(randn(c.n * ho * wo * c.cout, 4), [c.n, ho, wo, c.cout]);
    const conv = (xi: tf.Tensor, fi: tf.Tensor, bi?: tf.Tensor): tf.Tensor4D => impl === 'ours'
      ? conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.stride, pad, bi as tf.Tensor1D | undefined)
      : (bi ? tf.add(tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.stride, pad), bi) : tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, c.stride, pad));
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
  { n: 2, h: 9, w: 8, cin: 3, cout: 4, k: 3, stride: 1, bias: true },
  { n: 2, h: 9, w: 8, cin: 3, cout: 4, k: 3, stride: 2, bias: false },
  { n: 1, h: 8, w: 8, cin: 6, cout: 5, k: 3, stride: 2, bias: true },
  { n: 1, h: 8, w: 8, cin: 5, cout: 6, k: 1, stride: 1, bias: true },
  { n: 2, h: 7, w: 9, cin: 5, cout: 6, k: 1, stride: 2, bias: false },
  { n: 1, h: 8, w: 6, cin: 4, cout: 3, k: 1, stride: 2, bias: false },
  { n: 2, h: 11, w: 10, cin: 4, cout: 5, k: 5, stride: 1, bias: false },
  { n: 2, h: 11, w: 10, cin: 4, cout: 5, k: 5, stride: 2, bias: true },
  { n: 1, h: 10, w: 7, cin: 3, cout: 2, k: 7, stride: 1, bias: false },
  { n: 1, h: 12, w: 13, cin: 3, cout: 4, k: 7, stride: 2, bias: true },
];

describe('conv2d (custom gradient) on wasm vs tf.conv2d gradients on cpu', () => {
  for (const c of CASES) {
    const name = `${c.n}×${c.h}×${c.w}×${c.cin} → ${c.cout}, k${c.k} s${c.stride}${c.bias ? ' +bias' : ''}`;
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

test('conv2d\'s gradient also runs on the cpu backend (k3 s2, k1 s2)', async () => {
  for (const c of [CASES[2], CASES[4]]) {
    const ref = await run('cpu', c, 'tfjs');
    const ours = await run('cpu', c, 'ours');
    for (const key of ['y', 'dx', 'df'] as const) assert.ok(relErr(ours[key], ref[key]) < 1e-4, `${key}: rel err ${relErr(ours[key], ref[key])}`);
  }
});

describe('conv2d semantics', () => {
  before(async () => { await tf.setBackend('wasm'); });

  test('stride 2, padding 1 pads symmetrically as PyTorch (tfjs "same" would not)', () => {
    // x = 0..15 on a 4×4 grid, all-ones 3×3 filter: each output sums a window of the zero-padded grid.
    const y = tf.tidy(() => conv2d(tf.reshape(tf.range(0, 16), [1, 4, 4, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 2, 1));
    assert.deepEqual(y.shape, [1, 2, 2, 1]);
    assert.deepEqual(Array.from(y.dataSync()), [10, 24, 51, 90]);
    y.dispose();
  });

  test("'same' is refused at stride 2, as in PyTorch", () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 1, 1]) as tf.Tensor4D;
    assert.throws(() => conv2d(x, f, 2, 'same'), /'same' needs stride 1/);
    tf.dispose([x, f]);
  });

  test('forward and backward leave no tensors behind', () => {
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const f = tf.variable(tf.randomNormal([3, 3, 3, 4]));
    const b = tf.variable(tf.zeros([4]));
    const before = tf.memory().numTensors;
    for (const stride of [1, 2] as const) {
      const { value, grads } = tf.variableGrads(() => tf.sum(conv2d(x, f as tf.Tensor4D, stride, 1, b as tf.Tensor1D)) as tf.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, f, b]);
  });
});

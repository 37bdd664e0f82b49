import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '../src/ops/register-tfjs-gradients.ts';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { conv2d } from '../src/ops/conv2d.ts';
import { depthwiseConv2d } from '../src/ops/depthwise-conv2d.ts';
import { gather } from './support/gather.ts';
import { matMul } from '../src/ops/matmul.ts';
import { stridedSlice } from './support/strided-slice.ts';
import { randn, relErr } from './support/helpers.ts';


const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

interface GradCase {
  /** Input shapes; `positive` inputs are |N(0,1)| + 0.5 (for log, sqrt, rsqrt, div). */
  inputs: { shape: number[]; positive?: boolean }[];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
}

/** f's output and the gradients of Σ f(xs)·r for a fixed random r, on `backend`. */
async function run(backend: 'cpu' | 'wasm', c: GradCase): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = c.inputs.map(({ shape, positive }, i) => {
      const data = randn(size(shape), 100 + i);
      if (positive) data.forEach((v, j) => { data[j] = Math.abs(v) + 0.5; });
      return tf.tensor(data, shape);
    });
    const y = c.f(...xs);
    const r = tf.tensor(randn(y.size, 7), y.shape);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(c.f(...args), r)))(xs);
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

const silu = (x: tf.Tensor) => tf.mul(x, tf.sigmoid(x));

/** LayerNorm over the last axis as layers/norm.ts computes it. */
function layerNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w), b);
}

function normOver(x: tf.Tensor, axes: number[]): tf.Tensor {
  const { mean, variance } = tf.moments(x, axes, true);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
}

/** Patch expand's pixel shuffle: [B, H, W, 4C] → [B, 2H, 2W, C], channels ordered (p1, p2, c). */
function pixelShuffle(x: tf.Tensor): tf.Tensor {
  const [b, h, w, c4] = x.shape;
  const c = c4 / 4;
  return tf.reshape(tf.transpose(tf.reshape(x, [b, h, w, 2, 2, c]), [0, 1, 3, 2, 4, 5]), [b, 2 * h, 2 * w, c]);
}

/** Every op the model trains through, as the model uses it. */
const MODEL_OPS: Record<string, GradCase> = {
  'matMul 2-D': { inputs: [{ shape: [5, 7] }, { shape: [7, 3] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) },
  'matMul transposeA': { inputs: [{ shape: [7, 5] }, { shape: [7, 3] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false) },
  'matMul transposeB': { inputs: [{ shape: [5, 7] }, { shape: [3, 7] }], f: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true) },
  'matMul batched': { inputs: [{ shape: [2, 3, 5, 7] }, { shape: [2, 3, 7, 4] }], f: (a, b) => tf.matMul(a as tf.Tensor4D, b as tf.Tensor4D) },
  'ops/matmul 2-D': { inputs: [{ shape: [5, 7] }, { shape: [7, 3] }], f: (a, b) => matMul(a, b) },
  'ops/matmul transposeA, transposeB': { inputs: [{ shape: [7, 5] }, { shape: [3, 7] }], f: (a, b) => matMul(a, b, true, true) },
  'ops/matmul linear [B, L, D] × [D, E]': { inputs: [{ shape: [2, 6, 5] }, { shape: [5, 3] }], f: (a, b) => matMul(a, b) },
  'ops/matmul linear, wider out than in (its weight gradient as (dyᵀ·x)ᵀ)': { inputs: [{ shape: [2, 6, 5] }, { shape: [5, 9] }], f: (a, b) => matMul(a, b) },
  'ops/matmul shared left [M, K] × [P, K, N]': { inputs: [{ shape: [4, 5] }, { shape: [3, 5, 2] }], f: (a, b) => matMul(a, b) },
  'ops/matmul batched [B, 4, L, D] × [1, 4, D, C]': { inputs: [{ shape: [2, 4, 6, 5] }, { shape: [1, 4, 5, 3] }], f: (a, b) => matMul(a, b) },
  'ops/matmul batched, large (2-D loop)': { inputs: [{ shape: [3, 64, 72] }, { shape: [3, 72, 64] }], f: (a, b) => matMul(a, b) },
  'ops/matmul batched transposeB': { inputs: [{ shape: [2, 3, 6, 5] }, { shape: [2, 3, 4, 5] }], f: (a, b) => matMul(a, b, false, true) },
  softplus: { inputs: [{ shape: [4, 6] }], f: (x) => tf.softplus(tf.mul(x, 3)) },
  sigmoid: { inputs: [{ shape: [4, 6] }], f: (x) => tf.sigmoid(x) },
  SiLU: { inputs: [{ shape: [4, 6] }], f: silu },
  exp: { inputs: [{ shape: [4, 6] }], f: (x) => tf.exp(x) },
  log: { inputs: [{ shape: [4, 6], positive: true }], f: (x) => tf.log(x) },
  sqrt: { inputs: [{ shape: [4, 6], positive: true }], f: (x) => tf.sqrt(x) },
  rsqrt: { inputs: [{ shape: [4, 6], positive: true }], f: (x) => tf.rsqrt(x) },
  square: { inputs: [{ shape: [4, 6] }], f: (x) => tf.square(x) },
  relu: { inputs: [{ shape: [4, 6] }], f: (x) => tf.relu(x) },
  neg: { inputs: [{ shape: [4, 6] }], f: (x) => tf.neg(x) },
  reverse: { inputs: [{ shape: [2, 3, 5] }], f: (x) => tf.reverse(x, [-1]) },
  transpose: { inputs: [{ shape: [2, 3, 4, 5] }], f: (x) => tf.transpose(x, [0, 2, 1, 3]) },
  reshape: { inputs: [{ shape: [2, 3, 4] }], f: (x) => tf.reshape(x, [6, 4]) },
  concat: { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 2] }, { shape: [2, 3, 1] }], f: (a, b, c) => tf.concat([a, b, c], -1) },
  'split (x, z halves)': { inputs: [{ shape: [2, 3, 8] }], f: (x) => { const [a, b] = tf.split(x, 2, -1); return tf.mul(a, silu(b)); } },
  'split (sizes)': { inputs: [{ shape: [2, 3, 9] }], f: (x) => { const [a, b, c] = tf.split(x, [2, 3, 4], -1); return tf.concat([tf.mul(a, 2), tf.exp(b), c], -1); } },
  stack: { inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], f: (a, b) => tf.stack([a, b], 1) },
  unstack: { inputs: [{ shape: [3, 2, 4] }], f: (x) => { const [a, , c] = tf.unstack(x); return tf.sub(a, c); } },
  slice: { inputs: [{ shape: [2, 6, 6, 3] }], f: (x) => tf.slice(x, [0, 1, 2, 0], [2, 3, 3, 3]) },
  'support/strided-slice': { inputs: [{ shape: [2, 7, 6, 3] }], f: (x) => stridedSlice(x, [0, 1, 0, 0], [2, 7, 6, 3], [1, 2, 2, 1]) },
  'support/gather (repeated indices)': { inputs: [{ shape: [2, 5, 3] }], f: (x) => gather(x, [4, 0, 4, 2], 1) },
  'LayerNorm (mean/variance over C)': { inputs: [{ shape: [2, 4, 4, 6] }, { shape: [6] }, { shape: [6] }], f: layerNorm },
  'InstanceNorm (over H, W)': { inputs: [{ shape: [2, 4, 4, 3] }], f: (x) => normOver(x, [1, 2]) },
  'BatchNorm train mode (over N, H, W)': { inputs: [{ shape: [3, 4, 4, 3] }, { shape: [3] }, { shape: [3] }], f: (x, w, b) => tf.add(tf.mul(normOver(x, [0, 1, 2]), w), b) },
  'add broadcast': { inputs: [{ shape: [2, 3, 4] }, { shape: [4] }], f: (a, b) => tf.add(a, b) },
  'sub broadcast': { inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }], f: (a, b) => tf.sub(a, b) },
  'mul broadcast': { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 1, 4] }], f: (a, b) => tf.mul(a, b) },
  'div broadcast': { inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4], positive: true }], f: (a, b) => tf.div(a, b) },
  pad: { inputs: [{ shape: [2, 3, 4, 2] }], f: (x) => tf.pad(x, [[0, 0], [1, 2], [3, 0], [0, 0]]) },
  tile: { inputs: [{ shape: [2, 3] }], f: (x) => tf.tile(x, [2, 3]) },
  'pixel shuffle (reshape + transpose)': { inputs: [{ shape: [2, 3, 3, 8] }], f: pixelShuffle },
  'quadrant split and merge (reshape + transpose)': {
    inputs: [{ shape: [1, 4, 4, 2] }],
    f: (x) => {
      const q = tf.reshape(tf.transpose(tf.reshape(x, [1, 2, 2, 2, 2, 2]), [0, 1, 3, 2, 4, 5]), [4, 2, 2, 2]);
      return tf.reshape(tf.transpose(tf.reshape(tf.exp(q), [1, 2, 2, 2, 2, 2]), [0, 1, 3, 2, 4, 5]), [1, 4, 4, 2]);
    },
  },
  sum: { inputs: [{ shape: [2, 3, 4] }], f: (x) => tf.sum(x, [0, 2]) },
  mean: { inputs: [{ shape: [2, 3, 4] }], f: (x) => tf.mean(x, -1) },
  'MSE loss (5 · mean (s − t)²)': { inputs: [{ shape: [2, 3, 4] }, { shape: [2, 3, 4] }], f: (s, t) => tf.mul(tf.mean(tf.squaredDifference(s, t)), 5) },
  'DropPath (per-sample mask / keep)': { inputs: [{ shape: [4, 3, 2] }], f: (x) => tf.div(tf.mul(x, tf.tensor3d([1, 0, 1, 1], [4, 1, 1])), 0.8) },
  'cumsum (forward and reverse)': { inputs: [{ shape: [2, 5] }], f: (x) => tf.add(tf.cumsum(x, 1), tf.cumsum(x, 1, false, true)) },
  'maximum / clip': { inputs: [{ shape: [4, 6] }], f: (x) => tf.add(tf.maximum(x, 0.1), tf.clipByValue(x, -0.5, 0.5)) },
  'ops/conv2d 3×3 stride 2': { inputs: [{ shape: [2, 6, 6, 3] }, { shape: [3, 3, 3, 4] }], f: (x, w) => conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 1) },
  'ops/depthwise-conv2d 5×5': { inputs: [{ shape: [2, 6, 6, 3] }, { shape: [5, 5, 3, 1] }], f: (x, w) => depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2) },
};

describe('gradients of the model\'s ops on wasm match cpu', () => {
  for (const [name, c] of Object.entries(MODEL_OPS)) {
    test(name, async () => {
      const ref = await run('cpu', c);
      const ours = await run('wasm', c);
      ours.forEach((t, i) => {
        const e = relErr(t, ref[i]);
        assert.ok(e < 1e-4, `${i === 0 ? 'output' : `gradient ${i - 1}`}: rel err ${e}`);
      });
    });
  }
});

describe('tfjs gaps on wasm (each has a replacement in src/ops or a rewrite)', () => {
  before(async () => { await tf.setBackend('wasm'); });
  const throwsOnWasm = (f: () => unknown, message: RegExp) => assert.throws(() => tf.tidy(() => { f(); }), message);
  const x4 = () => tf.ones([1, 4, 4, 2]) as tf.Tensor4D;

  test('conv2d filter gradient: no Conv2DBackpropFilter kernel → ops/conv2d', () => {
    throwsOnWasm(() => tf.grad((w: tf.Tensor) => tf.sum(tf.conv2d(x4(), w as tf.Tensor4D, 1, 1)))(tf.ones([3, 3, 2, 2])), /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/);
  });
  test('depthwise conv gradients: no DepthwiseConv2dNativeBackprop* kernels → ops/depthwise-conv2d', () => {
    throwsOnWasm(() => tf.grad((x: tf.Tensor) => tf.sum(tf.depthwiseConv2d(x as tf.Tensor4D, tf.ones([3, 3, 2, 1]) as tf.Tensor4D, 1, 1)))(x4()), /Kernel 'DepthwiseConv2dNativeBackpropInput' not registered/);
  });
  test('gather gradient: no UnsortedSegmentSum kernel → test/support/gather', () => {
    throwsOnWasm(() => tf.grad((x: tf.Tensor) => tf.sum(tf.gather(x, [1, 0])))(tf.ones([2, 2])), /Kernel 'UnsortedSegmentSum' not registered/);
  });
  test('stridedSlice has no gradient on any backend → test/support/strided-slice', () => {
    throwsOnWasm(() => tf.grad((x: tf.Tensor) => tf.sum(tf.stridedSlice(x, [0], [4], [2])))(tf.ones([4])), /gradient function not found for StridedSlice/);
  });
  test('depthToSpace has no gradient on any backend → reshape + transpose', () => {
    throwsOnWasm(() => tf.grad((x: tf.Tensor) => tf.sum(tf.depthToSpace(x as tf.Tensor4D, 2)))(tf.ones([1, 2, 2, 4])), /gradient function not found for DepthToSpace/);
  });
  test('matMul with a broadcast batch axis: tfjs\'s gradient keeps the broadcast shape (every backend) → ops/matmul', () => {
    throwsOnWasm(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D)))([tf.ones([2, 3, 4]), tf.ones([1, 4, 2])]), /gradient of input 'b' has shape '2,4,2'/);
  });
  test('einsum has no wasm kernel at all → matMul', () => {
    throwsOnWasm(() => tf.einsum('ij,jk->ik', tf.ones([2, 2]), tf.ones([2, 2])), /Kernel 'Einsum' not registered for backend 'wasm'/);
  });
  test('a comparison on the gradient path (where(x > 0, …)) has no gradient → relu/step arithmetic', () => {
    throwsOnWasm(() => tf.grad((x: tf.Tensor) => tf.sum(tf.where(tf.greater(x, 0), x, tf.mul(x, 2))))(tf.ones([2])), /gradient function not found for Greater/);
  });
});

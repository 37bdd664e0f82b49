import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../src/ops/register-tfjs-gradients.ts';
import { crossSelectiveScan } from '../src/ops/scan/cross-selective-scan.ts';
import { BackendError, CrossSelectiveScanShapeError, ScanPoolError } from '../src/errors.ts';
import { selectiveScan } from './support/selective-scan.ts';
import { matMul } from '../src/ops/matmul.ts';
import { configureScanPool, scanThreads, shutdownScanPool } from '../src/ops/scan/scan-pool.ts';
import { crossScan, scanSizes, type ScanParams } from '../src/layers/cross-scan.ts';
import { relErr } from './support/helpers.ts';

const K = 4;
const OP_NAMES = ['u', 'delta', 'A', 'Bm', 'Cm', 'Ds', 'deltaBias'] as const;
const PARAM_NAMES = ['xProjWeight', 'dtProjsWeight', 'dtProjsBias', 'aLogs', 'ds'] as const;

after(async () => {
  await shutdownScanPool();
});

/** The tokens of a [B,H,W,C] map in direction k's order, [B,L,C]: rows, columns, and their reverses. */
function directionOrder(x: tf.Tensor, k: number): tf.Tensor {
  const [B, H, W, C] = x.shape;
  const seq = k % 2 === 0 ? tf.reshape(x, [B, H * W, C]) : tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, H * W, C]);
  return k < 2 ? seq : tf.reverse(seq, 1);
}

/** Inverse of directionOrder: [B,L,C] in direction k's order → [B,H,W,C]. */
function fromDirectionOrder(y: tf.Tensor, k: number, H: number, W: number): tf.Tensor {
  const [B, , C] = y.shape;
  const seq = k < 2 ? y : tf.reverse(y, 1);
  return k % 2 === 0 ? tf.reshape(seq, [B, H, W, C]) : tf.transpose(tf.reshape(seq, [B, W, H, C]), [0, 2, 1, 3]);
}

/** The op by its definition: selectiveScan on four re-ordered copies, outputs mapped back and summed. */
function crossByDefinition(u: tf.Tensor, delta: tf.Tensor, A: tf.Tensor, Bm: tf.Tensor, Cm: tf.Tensor, Ds: tf.Tensor,
  bias: tf.Tensor): tf.Tensor {
  const [, H, W] = u.shape;
  const perDir = (t: tf.Tensor) => tf.unstack(t, 3); // [B,H,W,K,C] → K × [B,H,W,C]
  const stackDirs = (f: (k: number) => tf.Tensor) => tf.stack([0, 1, 2, 3].map(f), 1); // [B,K,L,C]
  const [ds, bs, cs] = [perDir(delta), perDir(Bm), perDir(Cm)];
  const y = selectiveScan(stackDirs((k) => directionOrder(u, k)), stackDirs((k) => directionOrder(ds[k], k)), A,
    stackDirs((k) => directionOrder(bs[k], k)), stackDirs((k) => directionOrder(cs[k], k)), Ds, bias);
  return tf.addN(tf.unstack(y, 1).map((yk, k) => fromDirectionOrder(yk, k, H, W)));
}

/** The cross scan layer as it was built before the fused op: projections per re-ordered copy, then selectiveScan. */
function crossScanByDefinition(x: tf.Tensor4D, p: ScanParams): tf.Tensor {
  const [B, H, W, Di] = x.shape;
  const { R, N } = scanSizes(p, Di);
  const L = H * W;
  const xs = tf.stack([0, 1, 2, 3].map((k) => directionOrder(x, k))); // [K,B,L,Di]
  const proj = matMul(tf.reshape(xs, [K, B * L, Di]), p.xProjWeight, false, true);
  const [dtLow, bs, cs] = tf.split(proj, [R, N, N], 2);
  const dts = matMul(dtLow, p.dtProjsWeight, false, true);
  const batchMajor = (t: tf.Tensor, c: number) => tf.transpose(tf.reshape(t, [K, B, L, c]), [1, 0, 2, 3]);
  const A = tf.neg(tf.exp(tf.reshape(p.aLogs, [K, Di, N])));
  const y = selectiveScan(batchMajor(xs, Di), batchMajor(dts, Di), A, batchMajor(bs, N), batchMajor(cs, N),
    tf.reshape(p.ds, [K, Di]), p.dtProjsBias);
  return tf.addN(tf.unstack(y, 1).map((yk, k) => fromDirectionOrder(yk, k, H, W)));
}

interface Case { B: number; H: number; W: number; D: number; N: number }

function opInputs(c: Case, seed: number): tf.Tensor[] {
  const { B, H, W, D, N } = c;
  const r = (shape: number[], mean: number, std: number, s: number) => tf.randomNormal(shape, mean, std, 'float32', seed * 10 + s);
  return tf.tidy(() => [
    r([B, H, W, D], 0, 1, 1),
    r([B, H, W, K, D], -1, 1.5, 2),
    tf.neg(tf.exp(r([K, D, N], 0, 0.7, 3))),
    r([B, H, W, K, N], 0, 1, 4),
    r([B, H, W, K, N], 0, 1, 5),
    r([K, D], 0.5, 0.5, 6),
    r([K, D], -1, 1, 7),
  ]);
}

function randomParams(di: number, N: number, R: number, seed: number): ScanParams {
  return tf.tidy(() => ({
    xProjWeight: tf.randomUniform([K, R + 2 * N, di], -0.5, 0.5, 'float32', seed) as tf.Tensor3D,
    dtProjsWeight: tf.randomUniform([K, di, R], -0.5, 0.5, 'float32', seed + 1) as tf.Tensor3D,
    dtProjsBias: tf.randomUniform([K, di], -3, 0, 'float32', seed + 2) as tf.Tensor2D,
    aLogs: tf.randomUniform([K * di, N], -1, 1, 'float32', seed + 3) as tf.Tensor2D,
    ds: tf.randomNormal([K * di], 1, 0.3, 'float32', seed + 4) as tf.Tensor1D,
  }));
}

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

/** y and the gradients of Σ w⊙y for every input, as host arrays. */
function run(fn: Fn, xs: tf.Tensor[], w: tf.Tensor): Float32Array[] {
  const outs = tf.tidy(() => [fn(...xs), ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(fn(...a), w)))(xs)]);
  const host = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  return host;
}

const op: Fn = (...a) => crossSelectiveScan(...(a as Parameters<typeof crossSelectiveScan>));
const layer = (x: tf.Tensor, ...ps: tf.Tensor[]) =>
  crossScan(x as tf.Tensor4D, Object.fromEntries(PARAM_NAMES.map((n, i) => [n, ps[i]])) as unknown as ScanParams);
const layerByDefinition = (x: tf.Tensor, ...ps: tf.Tensor[]) =>
  crossScanByDefinition(x as tf.Tensor4D, Object.fromEntries(PARAM_NAMES.map((n, i) => [n, ps[i]])) as unknown as ScanParams);

// Rectangular maps, batches, odd sizes, a single row, and more than one channel unit (64).
const CASES: Case[] = [
  { B: 1, H: 1, W: 1, D: 1, N: 1 },
  { B: 2, H: 3, W: 5, D: 7, N: 3 },
  { B: 1, H: 6, W: 4, D: 66, N: 4 },
  { B: 3, H: 1, W: 7, D: 5, N: 16 },
  { B: 2, H: 5, W: 5, D: 130, N: 2 },
];

test('cross selective scan: forward and all seven gradients equal selectiveScan on the four re-ordered maps', async () => {
  for (const backend of ['cpu', 'wasm']) {
    assert.ok(await tf.setBackend(backend));
    const worst: Record<string, number> = {};
    CASES.forEach((c, i) => {
      const xs = opInputs(c, i + 1);
      const w = tf.randomNormal([c.B, c.H, c.W, c.D], 0, 1, 'float32', 50 + i);
      const ours = run(op, xs, w);
      const ref = run(crossByDefinition, xs, w);
      ['y', ...OP_NAMES].forEach((n, j) => {
        const e = relErr(ours[j], ref[j]);
        worst[n] = Math.max(worst[n] ?? 0, e);
        assert.ok(e < 1e-5, `${backend} ${JSON.stringify(c)}: ${n} relative error ${e}`);
      });
      tf.dispose([...xs, w]);
    });
    console.log(`${backend} max relative errors vs the construction:`, Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
  }
});

test('cross scan layer: output and the gradients of x and every parameter equal the selectiveScan-based construction', async () => {
  assert.ok(await tf.setBackend('wasm'));
  const worst: Record<string, number> = {};
  for (const [i, c] of [{ B: 2, H: 4, W: 6, Di: 8, N: 4, R: 1 }, { B: 1, H: 5, W: 3, Di: 70, N: 16, R: 5 }].entries()) {
    const p = randomParams(c.Di, c.N, c.R, 10 * i);
    const x = tf.randomNormal([c.B, c.H, c.W, c.Di], 0, 1, 'float32', 7 + i);
    const w = tf.randomNormal([c.B, c.H, c.W, c.Di], 0, 1, 'float32', 8 + i);
    const xs = [x, ...PARAM_NAMES.map((n) => p[n])];
    const ours = run(layer, xs, w);
    const ref = run(layerByDefinition, xs, w);
    ['y', 'x', ...PARAM_NAMES].forEach((n, j) => {
      const e = relErr(ours[j], ref[j]);
      worst[n] = Math.max(worst[n] ?? 0, e);
      assert.ok(e < 1e-5, `${JSON.stringify(c)}: ${n} relative error ${e}`);
    });
    tf.dispose([...xs, w]);
  }
  console.log('max relative errors vs the construction:', Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
});

test('cross selective scan: the thread pool gives bit-identical results to the in-thread kernels', async () => {
  await tf.setBackend('cpu');
  // 4 channel units, unevenly split over 3 threads; N = 4 runs on WebAssembly (where available), N = 3 on the JS core.
  for (const c of [{ B: 2, H: 5, W: 3, D: 200, N: 4 }, { B: 1, H: 4, W: 6, D: 200, N: 3 }]) {
    const xs = opInputs(c, 9);
    const w = tf.randomNormal([c.B, c.H, c.W, c.D], 0, 1, 'float32', 99);
    const results = [1, 2, 3].map((threads) => {
      configureScanPool({ threads, minParallelWork: 0 });
      assert.equal(scanThreads(1, 4), threads);
      return run(op, xs, w);
    });
    configureScanPool({});
    for (const r of results.slice(1)) r.forEach((a, j) => assert.deepEqual(a, results[0][j], `N=${c.N}: ${['y', ...OP_NAMES][j]}`));
    tf.dispose([...xs, w]);
  }
});

test('cross selective scan: no tensors leak, in-thread or on the pool', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    for (const threads of [1, 2]) {
      configureScanPool({ threads, minParallelWork: 0 });
      const xs = opInputs({ B: 1, H: 3, W: 4, D: 70, N: 2 }, 3);
      const p = randomParams(70, 2, 2, 5);
      const ps = PARAM_NAMES.map((n) => p[n]);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        op(...xs);
        tf.grads((...a: tf.Tensor[]) => tf.sum(op(...a)))(xs);
        tf.grads((...a: tf.Tensor[]) => tf.sum(layer(a[0], ...a.slice(1))))([xs[0], ...ps]);
      });
      assert.equal(tf.memory().numTensors, before, `${backend}, ${threads} thread(s)`);
      tf.dispose([...xs, ...ps]);
    }
  }
  configureScanPool({});
});

test('cross selective scan: mismatched shapes are refused with a coded error', () => {
  const xs = opInputs({ B: 1, H: 2, W: 3, D: 4, N: 2 }, 4);
  const bad = [...xs];
  bad[1] = tf.zeros([1, 3, 2, K, 4]); // delta of the transposed map
  assert.throws(() => op(...bad), (e: unknown) => e instanceof CrossSelectiveScanShapeError &&
    e.code === 'E_CROSS_SELECTIVE_SCAN_SHAPE' && /delta must be \[B,H,W,4,D\]/.test(e.message));
  tf.dispose([...xs, bad[1]]);
});

test('scan pool: a bad thread count is refused, naming where it came from', () => {
  assert.throws(() => configureScanPool({ threads: 0 }), (e: unknown) => e instanceof ScanPoolError && /threads/.test(e.message));
  const saved = process.env.PMAMBA_THREADS;
  process.env.PMAMBA_THREADS = 'two';
  try {
    assert.throws(() => configureScanPool({}), (e: unknown) => e instanceof BackendError && /PMAMBA_THREADS/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.PMAMBA_THREADS;
    else process.env.PMAMBA_THREADS = saved;
  }
  configureScanPool({});
});

test('scan pool: a process that used the pool exits without shutting it down', async () => {
  // The child's scan, run here in-thread.
  await tf.setBackend('cpu');
  configureScanPool({ threads: 1 });
  const [B, H, W, D, N] = [1, 4, 4, 128, 4];
  const want = tf.tidy(() => tf.sum(crossSelectiveScan(tf.ones([B, H, W, D]), tf.zeros([B, H, W, 4, D]), tf.fill([4, D, N], -1),
    tf.ones([B, H, W, 4, N]), tf.ones([B, H, W, 4, N]), tf.ones([4, D]), tf.zeros([4, D]))).dataSync()[0]);
  configureScanPool({});
  const url = (spec: string) => JSON.stringify(import.meta.resolve(spec));
  const script = `
    import * as tf from ${url('@tensorflow/tfjs-core')};
    import ${url('@tensorflow/tfjs-backend-cpu')};
    import { crossSelectiveScan } from ${url('../src/ops/scan/cross-selective-scan.ts')};
    import { configureScanPool } from ${url('../src/ops/scan/scan-pool.ts')};
    await tf.setBackend('cpu');
    configureScanPool({ threads: 2, minParallelWork: 0 });
    const [B, H, W, D, N] = [1, 4, 4, 128, 4];
    const y = crossSelectiveScan(tf.ones([B, H, W, D]), tf.zeros([B, H, W, 4, D]), tf.fill([4, D, N], -1), tf.ones([B, H, W, 4, N]),
      tf.ones([B, H, W, 4, N]), tf.ones([4, D]), tf.zeros([4, D]));
    console.log('sum', tf.sum(y).dataSync()[0]);
  `;
  const dir = mkdtempSync(join(tmpdir(), 'pmamba-pool-'));
  try {
    const file = join(dir, 'child.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal}); stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes(`sum ${want}`), `child printed ${r.stdout}, expected sum ${want}`);
    assert.doesNotMatch(r.stderr, /scan pool/, 'the workers started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

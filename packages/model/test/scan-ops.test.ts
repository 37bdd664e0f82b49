import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../src/ops/register-tfjs-gradients.ts';
import { crossSelectiveScan } from '../src/ops/scan/cross-selective-scan.ts';
import { currentScanMode, resolveScanMode, withScanMode, type ScanMode } from '../src/ops/scan/scan-mode.ts';
import { shutdownScanPool } from '../src/ops/scan/scan-pool.ts';
import { parseModelConfig, presetConfig } from '../src/config.ts';
import { ModelConfigError } from '../src/errors.ts';
import { useBackend } from '../src/backend.ts';
import { relErr } from './support/helpers.ts';

const K = 4;
const NAMES = ['y', 'u', 'delta', 'A', 'Bm', 'Cm', 'Ds', 'deltaBias'] as const;

after(async () => {
  await shutdownScanPool();
});

interface Case {
  B: number; H: number; W: number; D: number; N: number;
  /** Mean of delta (before bias and softplus) and of log|A|: large ones make dt·|A| large. */
  delta?: number; logA?: number;
}

function inputs(c: Case, seed: number): tf.Tensor[] {
  const { B, H, W, D, N } = c;
  const r = (shape: number[], mean: number, std: number, s: number) => tf.randomNormal(shape, mean, std, 'float32', seed * 10 + s);
  return tf.tidy(() => [
    r([B, H, W, D], 0, 1, 1),
    r([B, H, W, K, D], c.delta ?? -1, c.delta === undefined ? 1.5 : 0.5, 2),
    tf.neg(tf.exp(r([K, D, N], c.logA ?? 0, c.logA === undefined ? 0.7 : 0.2, 3))),
    r([B, H, W, K, N], 0, 1, 4),
    r([B, H, W, K, N], 0, 1, 5),
    r([K, D], 0.5, 0.5, 6),
    r([K, D], -1, 0.5, 7),
  ]);
}

/** y and the gradients of Σ w⊙y with respect to all seven inputs, as host arrays. */
function run(scan: ScanMode, xs: tf.Tensor[], w: tf.Tensor): Float32Array[] {
  const f = (...a: tf.Tensor[]) => crossSelectiveScan(a[0] as tf.Tensor4D, a[1], a[2], a[3], a[4], a[5], a[6], { scan });
  const outs = tf.tidy(() => [f(...xs), ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs)]);
  const host = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  return host;
}

/** Steps over which the large case must sum dt·|A| ≥ 200: exp(−Σ) over so few would already overflow float32. */
const WINDOW = 16;

/** Smallest Σ dt·|A| over the first WINDOW steps of any (batch, direction-0 sequence, channel, state). */
function smallestChunkDecay(xs: tf.Tensor[], c: Case): number {
  return tf.tidy(() => {
    const [, delta, A, , , , bias] = xs;
    const dt = tf.softplus(tf.add(delta, bias)); // [B,H,W,K,D]
    const first = tf.slice(tf.reshape(dt, [c.B, c.H * c.W, K, c.D]), [0, 0, 0, 0], [c.B, WINDOW, 1, c.D]);
    const sum = tf.sum(first, 1); // [B,1,D]
    const minA = tf.min(tf.abs(tf.slice(A, [0, 0, 0], [1, c.D, c.N])), -1); // [1,D]
    return tf.min(tf.mul(sum, minA)).dataSync()[0];
  });
}

// Single step; the Hillis–Steele base case alone (15 steps); odd lengths through the odd–even
// levels (42 → 21 → 11); five levels (272 → … → 9); and a map whose dt·|A| sums far past
// float32's exp range within 16 steps (the exp(−cumsum) factorisation would overflow there).
const CASES: Case[] = [
  { B: 1, H: 1, W: 1, D: 1, N: 1 },
  { B: 2, H: 3, W: 5, D: 7, N: 3 },
  { B: 1, H: 6, W: 7, D: 5, N: 4 },
  { B: 2, H: 16, W: 17, D: 3, N: 2 },
  { B: 1, H: 8, W: 9, D: 6, N: 4, delta: 12, logA: 1.3 },
];

test('ops scan: output and all seven gradients equal the kernels on wasm and cpu', async () => {
  for (const backend of ['wasm', 'cpu']) {
    assert.ok(await tf.setBackend(backend));
    const worst: Record<string, number> = {};
    for (const [i, c] of CASES.entries()) {
      const xs = inputs(c, i + 1);
      if (c.delta !== undefined) {
        const least = smallestChunkDecay(xs, c);
        assert.ok(least >= 200, `the large case must sum dt·|A| ≥ 200 over ${WINDOW} steps, got ${least}`);
      }
      const w = tf.randomNormal([c.B, c.H, c.W, c.D], 0, 1, 'float32', 50 + i);
      const before = tf.memory().numTensors;
      const ops = run('ops', xs, w);
      assert.equal(tf.memory().numTensors, before, `${backend} ${JSON.stringify(c)}: the ops scan leaked tensors`);
      const kernels = run('kernels', xs, w);
      NAMES.forEach((n, j) => {
        assert.ok(ops[j].every(Number.isFinite), `${backend} ${JSON.stringify(c)}: ${n} has non-finite values`);
        const e = relErr(ops[j], kernels[j]);
        worst[n] = Math.max(worst[n] ?? 0, e);
        assert.ok(e < 1e-5, `${backend} ${JSON.stringify(c)}: ${n} relative error ${e}`);
      });
      tf.dispose([...xs, w]);
    }
    console.log(`${backend}: ops vs kernels, max relative errors:`, Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', '));
  }
});

test('scan mode: auto means kernels on wasm and cpu, ops on the tensorflow backends', () => {
  assert.equal(resolveScanMode('auto', 'wasm'), 'kernels');
  assert.equal(resolveScanMode('auto', 'cpu'), 'kernels');
  assert.equal(resolveScanMode('auto', 'tensorflow'), 'ops');
  assert.equal(resolveScanMode('ops', 'wasm'), 'ops');
  assert.equal(resolveScanMode('kernels', 'tensorflow'), 'kernels');
  assert.throws(() => resolveScanMode('gpu' as ScanMode, 'wasm'), (e: unknown) => e instanceof ModelConfigError && /scan: "gpu"/.test(e.message));
});

test('scan mode: withScanMode sets the default for the calls it runs and restores it, also on throw', async () => {
  await tf.setBackend('wasm');
  const xs = inputs({ B: 1, H: 2, W: 3, D: 4, N: 2 }, 9);
  // Only the ops scan runs a Softplus kernel (the kernels apply the softplus themselves).
  const runsOps = async (f: () => tf.Tensor) => (await tf.profile(() => tf.tidy(() => { f(); }))).kernels.some((k) => k.name === 'Softplus');
  const scan = () => crossSelectiveScan(xs[0] as tf.Tensor4D, xs[1], xs[2], xs[3], xs[4], xs[5], xs[6]);
  assert.equal(await runsOps(scan), false, 'auto on wasm runs the kernels');
  assert.equal(await runsOps(() => withScanMode('ops', scan)), true);
  assert.equal(await runsOps(() => withScanMode('ops', () => crossSelectiveScan(xs[0] as tf.Tensor4D, xs[1], xs[2], xs[3], xs[4], xs[5], xs[6], { scan: 'kernels' }))), false,
    'a call\'s own mode wins');
  assert.throws(() => withScanMode('ops', () => { throw new Error('boom'); }), /boom/);
  assert.equal(currentScanMode(), 'auto');
  tf.dispose(xs);
});

test('model config: scan defaults to auto, takes kernels or ops, and refuses anything else by name', () => {
  assert.equal(parseModelConfig({}).scan, 'auto');
  assert.equal(presetConfig('small').scan, 'auto');
  assert.equal(presetConfig('small', { scan: 'ops' }).scan, 'ops');
  // A checkpoint written before the field existed still loads.
  const { scan: _dropped, ...old } = presetConfig('reference');
  assert.equal(parseModelConfig(JSON.parse(JSON.stringify(old))).scan, 'auto');
  assert.throws(() => parseModelConfig({ scan: 'gpu' }), (e: unknown) => e instanceof ModelConfigError && /scan/.test(e.message));
});

test('--backend auto names the backend it loaded and, in one line, why each faster one did not', async () => {
  const said: string[] = [];
  const name = await useBackend('auto', (m) => said.push(m));
  if (name === 'wasm') {
    assert.match(said[0], /^pmamba: using the wasm backend on \d+ threads? \(unavailable: tensorflow-gpu: [^;]+; tensorflow: [^;]+\)$/);
    // A package that is simply absent is said so, without the resolver's paths.
    assert.doesNotMatch(said[0], /imported from|Require stack/);
  }
  await tf.setBackend('wasm');
});

test('model.scan in the config reaches every SS2D layer: ops runs on tfjs kernels and forwards the same as the wasm kernels', async () => {
  await useBackend('wasm');
  const { PyramidMamba } = await import('../src/model.ts');
  const image = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const run = async (scan: ScanMode) => {
    const model = new PyramidMamba(presetConfig('small', { scan, pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }), 1);
    let out: Float32Array[] = [];
    // tfjs kernels run by one forward: the ops scan adds its levels' mul/add/slice kernels, the wasm kernels add none.
    const profile = await tf.profile(() => {
      out = model.forward(image).student.map((t) => t.dataSync() as Float32Array);
    });
    return { out, kernels: profile.kernels.length };
  };
  const kernels = await run('kernels');
  const ops = await run('ops');
  assert.ok(ops.kernels > kernels.kernels + 200, `tfjs kernels per forward: ops ${ops.kernels}, kernels ${kernels.kernels}`);
  for (const [i, k] of kernels.out.entries()) assert.ok(relErr(ops.out[i], k) < 1e-5, `stage ${i}: ${relErr(ops.out[i], k)}`);
  image.dispose();
});

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '../src/ops/register-tfjs-gradients.ts';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { AdamW } from '../src/optim/adamw.ts';
import { OptimizerStateError } from '../src/errors.ts';
import { clipGradNorm } from '../src/optim/clip-grad-norm.ts';
import { StepLr } from '../src/optim/lr-schedule.ts';

/** Written by fixtures/optim/make_adamw_fixture.py with torch.optim.AdamW and clip_grad_norm_. */
interface Golden {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  max_norm: number;
  initial: Record<string, { shape: number[]; values: number[] }>;
  steps: { lr: number; grads: Record<string, number[]>; norm: number; clipped: Record<string, number[]>; params: Record<string, number[]> }[];
  state: Record<string, { step: number; exp_avg: number[]; exp_avg_sq: number[] }>;
}
const golden = JSON.parse(readFileSync(new URL('./fixtures/optim/adamw.json', import.meta.url), 'utf8')) as Golden;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function makeParams(): Map<string, tf.Variable> {
  return new Map(Object.entries(golden.initial).map(([name, p]) => [name, tf.variable(tf.tensor(p.values, p.shape), true, `adamw-test-${name}-${Math.random()}`)]));
}

function makeOptimizer(params: Map<string, tf.Variable>): AdamW {
  return new AdamW(params, { lr: golden.lr, betas: golden.betas, eps: golden.eps, weightDecay: golden.weight_decay });
}

/** Golden step i: torch's gradients, clipped, then one AdamW step at that step's lr. */
function goldenStep(opt: AdamW, params: Map<string, tf.Variable>, i: number): { norm: number; clipped: Map<string, tf.Tensor> } {
  const s = golden.steps[i];
  const grads = new Map(Object.entries(s.grads).map(([name, g]) => [name, tf.tensor(g, params.get(name)!.shape)]));
  const norm = clipGradNorm(grads, golden.max_norm);
  opt.step(grads, s.lr);
  return { norm, clipped: grads };
}

describe('AdamW and clipGradNorm vs torch', () => {
  before(async () => { await tf.setBackend('wasm'); });

  test('six clipped steps with an lr cut and a skipped parameter match torch to 1e-6', () => {
    const params = makeParams();
    const opt = makeOptimizer(params);
    golden.steps.forEach((s, i) => {
      const { norm, clipped } = goldenStep(opt, params, i);
      assert.ok(Math.abs(norm - s.norm) <= 1e-6 * s.norm, `step ${i + 1}: norm ${norm} vs torch ${s.norm}`);
      for (const [name, g] of clipped) {
        const d = maxAbsDiff(g.dataSync(), s.clipped[name]);
        assert.ok(d <= 1e-6, `step ${i + 1}: clipped gradient of ${name} differs by ${d}`);
      }
      tf.dispose([...clipped.values()]);
      for (const [name, p] of params) {
        const d = maxAbsDiff(p.dataSync(), s.params[name]);
        assert.ok(d <= 1e-6, `step ${i + 1}: ${name} differs from torch by ${d}`);
      }
    });
    const state = opt.exportState();
    assert.equal(state.step, golden.steps.length);
    for (const [name, t] of Object.entries(golden.state)) {
      assert.equal(state.arrays.get(`${name}.step`)!.values[0], t.step);
      assert.ok(maxAbsDiff(state.arrays.get(`${name}.exp_avg`)!.values, t.exp_avg) <= 1e-6, `${name}.exp_avg`);
      assert.ok(maxAbsDiff(state.arrays.get(`${name}.exp_avg_sq`)!.values, t.exp_avg_sq) <= 1e-6, `${name}.exp_avg_sq`);
    }
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  test('a run resumed from exported state continues exactly as torch', () => {
    const params = makeParams();
    const first = makeOptimizer(params);
    for (let i = 0; i < 3; i++) tf.dispose([...goldenStep(first, params, i).clipped.values()]);
    const saved = first.exportState();
    first.dispose();
    const resumed = makeOptimizer(params);
    resumed.importState(saved);
    assert.equal(resumed.stepCount, 3);
    for (let i = 3; i < golden.steps.length; i++) tf.dispose([...goldenStep(resumed, params, i).clipped.values()]);
    const last = golden.steps[golden.steps.length - 1];
    for (const [name, p] of params) assert.ok(maxAbsDiff(p.dataSync(), last.params[name]) <= 1e-6, name);
    resumed.dispose();
    tf.dispose([...params.values()]);
  });

  test('on wasm one fused kernel per parameter (optim/adamw-kernel.ts): bit for bit the float32 ops (the cpu backend\'s)', async () => {
    const run = () => {
      const params = makeParams();
      const opt = makeOptimizer(params);
      for (let i = 0; i < golden.steps.length; i++) tf.dispose([...goldenStep(opt, params, i).clipped.values()]);
      const out = new Map([...params].map(([name, p]) => [name, Array.from(p.dataSync())]));
      opt.dispose();
      tf.dispose([...params.values()]);
      return out;
    };
    const fused = run();
    assert.ok(tf.getKernel('PmambaAdamW', 'wasm'), 'the fused kernel ran');
    await tf.setBackend('cpu');
    try {
      const ops = run();
      for (const [name, values] of ops) assert.deepEqual(fused.get(name), values, name);
    } finally {
      await tf.setBackend('wasm');
    }
  });

  test('a state that does not fit the parameters is refused with what differs', () => {
    const params = makeParams();
    const opt = makeOptimizer(params);
    const bad = {
      step: 2,
      arrays: new Map([
        ['a.exp_avg', { shape: [4, 3], values: new Float32Array(12) }],
        ['a.exp_avg_sq', { shape: [3, 4], values: new Float32Array(12) }],
        ['zz.exp_avg', { shape: [1], values: new Float32Array(1) }],
      ]),
    };
    assert.throws(() => opt.importState(bad), (e: unknown) => {
      assert.ok(e instanceof OptimizerStateError);
      assert.equal(e.code, 'E_OPTIMIZER_STATE_MISMATCH');
      assert.match(e.message, /a\.exp_avg: shape \[4,3\]/);
      assert.match(e.message, /zz\.exp_avg: no such parameter/);
      return true;
    });
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  test('steps allocate nothing after the first (moments) and clipping frees what it replaces', () => {
    const params = makeParams();
    const opt = makeOptimizer(params);
    tf.dispose([...goldenStep(opt, params, 0).clipped.values()]);
    const before = tf.memory().numTensors;
    for (let i = 1; i < golden.steps.length; i++) tf.dispose([...goldenStep(opt, params, i).clipped.values()]);
    assert.equal(tf.memory().numTensors, before);
    opt.dispose();
    assert.equal(tf.memory().numTensors, before - 2 * params.size);
    tf.dispose([...params.values()]);
  });

  test('gradients keyed by tfjs variable name (tf.variableGrads) are accepted', () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, `adamw-test-w-${Math.random()}`);
    const opt = new AdamW([{ name: 'w', variable: w }], { lr: 0.1, weightDecay: 0 });
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(w)) as tf.Scalar, [w]);
    opt.step(grads);
    // First step moves every coordinate by lr·sign(g) (bias-corrected m̂/√v̂ = ±1).
    assert.ok(maxAbsDiff(w.dataSync(), [0.9, -1.9]) < 1e-6);
    tf.dispose([value, ...Object.values(grads), w]);
    opt.dispose();
  });
});

describe('clipGradNorm', () => {
  test('leaves gradients below the limit untouched and returns their norm', () => {
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([4]) };
    const a = g.a;
    assert.ok(Math.abs(clipGradNorm(g, 5.5) - 5) < 1e-6);
    assert.equal(g.a, a);
    assert.deepEqual(Array.from(g.b.dataSync()), [4]);
    tf.dispose([g.a, g.b]);
  });
});

describe('StepLr', () => {
  test('the reference schedule: × 0.1 from epoch 800', () => {
    const s = new StepLr(0.005, [800]);
    assert.equal(s.at(0), 0.005);
    assert.equal(s.at(799), 0.005);
    assert.ok(Math.abs(s.at(800) - 0.0005) < 1e-15);
    assert.ok(Math.abs(s.at(999) - 0.0005) < 1e-15);
  });

  test('several milestones in any order, and epoch milestones on a step counter', () => {
    const s = new StepLr(1, [20, 10], 0.5);
    assert.deepEqual([9, 10, 19, 20, 100].map((t) => s.at(t)), [1, 0.5, 0.5, 0.25, 0.25]);
    const perStep = new StepLr(0.005, [800]).perStep(227);
    assert.equal(perStep.at(800 * 227 - 1), 0.005);
    assert.ok(Math.abs(perStep.at(800 * 227) - 0.0005) < 1e-15);
  });
});

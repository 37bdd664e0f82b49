import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  PyramidMamba, Trainer, loadCheckpoint, presetConfig, saveCheckpoint, useBackend, readSafetensors,
  saveTrainerState, loadTrainerState,
} from '../src/index.ts';
import { CONFIG_KEY } from '../src/weights/checkpoint.ts';

before(async () => {
  await useBackend('wasm');
});

const batch = () => tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 11) as tf.Tensor4D;

test('training steps lower the loss, are reproducible under a seed and leak no tensors', () => {
  const run = () => {
    const model = new PyramidMamba(presetConfig('small'), 5);
    const trainer = new Trainer(model, { lr: 2e-3, seed: 9 });
    const x = batch();
    const first = trainer.step(x);
    const afterFirst = tf.memory().numTensors;
    const losses = [first.loss];
    for (let i = 0; i < 3; i++) losses.push(trainer.step(x).loss);
    assert.equal(tf.memory().numTensors, afterFirst, 'a training step leaves the tensor count unchanged');
    const evalLoss = trainer.evalLoss(x);
    x.dispose();
    model.dispose();
    return { losses, evalLoss };
  };
  const a = run();
  const b = run();
  assert.ok(a.losses[3] < 0.8 * a.losses[0], `loss should drop: ${a.losses.join(', ')}`);
  assert.deepEqual(a.losses, b.losses, 'same seed, same losses');
  assert.ok(Number.isFinite(a.evalLoss));
});

test('a checkpoint carries its config and round-trips every parameter and buffer', () => {
  const cfg = presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 2, 2, 3] }, noiseStd: 0.1 });
  const model = new PyramidMamba(cfg, 2);
  const trainer = new Trainer(model, { lr: 1e-3, seed: 1 });
  const x = batch();
  trainer.step(x); // moves BatchNorm running stats and num_batches_tracked too
  const bytes = saveCheckpoint(model);
  const file = readSafetensors(bytes);
  assert.deepEqual(JSON.parse(file.metadata[CONFIG_KEY]), cfg);
  assert.equal(file.tensors.get('mff_oce.bn1.num_batches_tracked')?.dtype, 'I64');
  assert.equal((file.tensors.get('mff_oce.bn1.num_batches_tracked')!.data as BigInt64Array)[0], 1n);
  const { model: back, configFromFile } = loadCheckpoint(bytes);
  assert.ok(configFromFile);
  assert.deepEqual(back.config, cfg);
  for (const e of model.params.entries.values()) {
    assert.deepEqual(back.params.get(e.name).dataSync(), e.variable.dataSync(), e.name);
  }
  const y1 = tf.tidy(() => model.forward(x).student[0].dataSync());
  const y2 = tf.tidy(() => back.forward(x).student[0].dataSync());
  assert.deepEqual(y2, y1);
  x.dispose();
  model.dispose();
  back.dispose();
});

test('micro-batches accumulate to the full-batch loss and gradient', () => {
  // Same model twice; noise and stochastic depth off. BatchNorm statistics differ per slice in
  // general, so the batch holds four copies of one image (slice statistics = batch statistics).
  const make = () => new PyramidMamba(presetConfig('small', { noiseStd: 0, dropPathRate: 0 }), 4);
  const one = tf.tidy(() => tf.tile(tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 3), [4, 1, 1, 1]) as tf.Tensor4D);
  const a = make();
  const b = make();
  const ra = new Trainer(a, { lr: 1e-3 }).step(one);
  const rb = new Trainer(b, { lr: 1e-3, microBatch: 1 }).step(one);
  // float32 sums over 4× more elements in the full batch: agreement to ~1e-4, not bit-exact.
  assert.ok(Math.abs(ra.loss - rb.loss) / ra.loss < 1e-3, `${ra.loss} vs ${rb.loss}`);
  assert.ok(Math.abs(ra.gradNorm - rb.gradNorm) / ra.gradNorm < 1e-3, `${ra.gradNorm} vs ${rb.gradNorm}`);
  one.dispose();
  a.dispose();
  b.dispose();
});

test('a trainer restored from its checkpointed state continues exactly as one that never stopped', () => {
  const cfg = presetConfig('small', { noiseStd: 0.05, dropPathRate: 0.1 });
  const opts = { lr: 2e-3, seed: 9, milestones: [3] };
  const xs = [1, 2, 3, 4].map((s) => tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', s) as tf.Tensor4D);

  const straight = new PyramidMamba(cfg, 3);
  const t1 = new Trainer(straight, opts);
  const straightLosses = xs.map((x) => t1.step(x).loss);

  const first = new PyramidMamba(cfg, 3);
  const t2 = new Trainer(first, opts);
  t2.step(xs[0]);
  t2.step(xs[1]);
  const weights = saveCheckpoint(first);
  const state = saveTrainerState(t2.state(), { 'pmamba.job': 'j' });
  t2.dispose();
  first.dispose();

  const resume = (restore: boolean) => {
    const { model } = loadCheckpoint(weights);
    const t = new Trainer(model, opts);
    if (restore) t.restore(loadTrainerState(state));
    const losses = [t.step(xs[2]), t.step(xs[3])];
    t.dispose();
    return { model, losses };
  };
  const before = tf.memory().numTensors;
  const resumed = resume(true);
  assert.equal(resumed.losses[1].lr, 2e-4, 'the lr schedule continues from step 2');
  assert.deepEqual(resumed.losses.map((r) => r.loss), straightLosses.slice(2));
  for (const e of straight.params.entries.values()) {
    assert.deepEqual(resumed.model.params.get(e.name).dataSync(), e.variable.dataSync(), e.name);
  }
  // Without the state (fresh moments, step 0, the noise stream from its start) the weights differ.
  const fresh = resume(false);
  const name = 'net_s.layers_up.0.blocks.0.smm_blocks.1.self_attention.in_proj.weight';
  const a = straight.params.get(name).dataSync();
  const b = fresh.model.params.get(name).dataSync();
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
  assert.ok(diff > 1e-4, `fresh optimizer state should change the update (max |Δ| ${diff})`);
  resumed.model.dispose();
  fresh.model.dispose();
  assert.equal(tf.memory().numTensors, before, 'restoring and disposing leaves no tensors');
  t1.dispose();
  straight.dispose();
  tf.dispose(xs);
});

test('a trainer state file names what is wrong with it', () => {
  // A deeper decoder's state has moments for parameters the small preset does not have.
  const model = new PyramidMamba(presetConfig('small', { depths: [2, 2, 2, 4] }), 1);
  const t = new Trainer(model, { lr: 1e-3 });
  const x = batch();
  t.step(x);
  const bytes = saveTrainerState(t.state());
  assert.throws(() => loadTrainerState(saveCheckpoint(model), 'ck.safetensors'), /ck\.safetensors: not a pmamba trainer state/);
  const other = new PyramidMamba(presetConfig('small'), 1);
  const t2 = new Trainer(other, { lr: 1e-3 });
  assert.throws(() => t2.restore(loadTrainerState(bytes)), /AdamW state does not fit the model:\n  net_s\.layers_up\.3\.blocks\.1\.[\w.]+\.exp_avg: no such parameter/);
  tf.dispose(x);
  t.dispose();
  t2.dispose();
  model.dispose();
  other.dispose();
});

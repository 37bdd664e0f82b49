import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  PyramidMamba, Trainer, loadCheckpoint, presetConfig, saveCheckpoint, useBackend, CONFIG_KEY, readSafetensors,
} from '../src/index.ts';

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

// Training-mode gradients of the whole student against the PyTorch reference (float64):
// the same generated weights, noise and stochastic depth off, BatchNorm on batch statistics.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, npyToFloat32 } from '@pmamba/data';
import { PyramidMamba, nchwToNhwc, presetConfig, reconstructionLoss, useBackend } from '@pmamba/model';
import { applyTestWeights } from '../packages/model/test/support/test-weights.ts';

const CASE = join(import.meta.dirname, '../packages/model/test/fixtures/golden/s64_t64');

before(async () => {
  await useBackend('wasm');
});

test('loss, every parameter gradient and BatchNorm running stats match the reference in training mode', () => {
  const ref = JSON.parse(readFileSync(join(CASE, 'train_grads.json'), 'utf8'));
  const model = new PyramidMamba(presetConfig('reference', { noiseStd: 0, dropPathRate: 0 }));
  applyTestWeights(model.params, ref.seed);
  const input = readNpy(join(CASE, 'input.npy'));
  const x = nchwToNhwc(tf.tensor4d(npyToFloat32(input.data), input.shape as [number, number, number, number]));
  const entries = model.params.trainable().filter((e) => !e.name.startsWith('net_t.'));
  const before = tf.memory().numTensors;
  const teacher = model.teacher(x);
  const { value, grads } = tf.variableGrads(
    () => reconstructionLoss(teacher, model.student(teacher, { training: true })), entries.map((e) => e.variable));
  const loss = value.dataSync()[0];
  assert.ok(Math.abs(loss - ref.loss) / ref.loss < 1e-5, `loss ${loss} vs ${ref.loss}`);

  assert.deepEqual(new Set(entries.map((e) => e.name)), new Set(Object.keys(ref.grad_norms)), 'same trainable parameters');
  // Conv biases in front of a training-mode BatchNorm or an InstanceNorm have zero gradient in exact arithmetic
  // (the batch or instance mean absorbs them): compare those against the typical gradient size instead.
  const norms = Object.values(ref.grad_norms as Record<string, number>).sort((a, b) => a - b);
  const floor = 1e-3 * norms[Math.floor(norms.length / 2)];
  let worst = { name: '', rel: 0 };
  for (const e of entries) {
    const g = grads[e.variable.name];
    const norm = tf.tidy(() => tf.norm(g).dataSync()[0]);
    const want = ref.grad_norms[e.name] as number;
    if (want < floor) {
      assert.ok(norm < 1e-2 * floor, `${e.name}: gradient norm ${norm} should vanish (reference ${want})`);
      continue;
    }
    const rel = Math.abs(norm - want) / want;
    if (rel > worst.rel) worst = { name: e.name, rel };
  }
  console.log(`loss ${loss} (ref ${ref.loss}); worst gradient-norm relative error ${worst.rel.toExponential(2)} at ${worst.name}`);
  assert.ok(worst.rel < 1e-3, `gradient norm of ${worst.name} off by ${worst.rel}`);

  // Element-wise on a few tensors (torch layout; only layout-free ones or converted back).
  for (const [name, values] of Object.entries(ref.grad_values_first64 as Record<string, number[]>)) {
    const e = entries.find((p) => p.name === name)!;
    const g = grads[e.variable.name];
    const torchLayout = tf.tidy(() => (e.layout === 'conv' ? tf.transpose(g, [3, 2, 0, 1]) : e.layout === 'linear' ? tf.transpose(g) : g));
    const got = torchLayout.dataSync().slice(0, values.length);
    torchLayout.dispose();
    const scale = Math.max(...values.map(Math.abs), 1e-6);
    values.forEach((v, i) => assert.ok(Math.abs(got[i] - v) / scale < 1e-3, `${name}[${i}]: ${got[i]} vs ${v}`));
  }
  for (const [name, values] of Object.entries(ref.bn_after_first16 as Record<string, number[]>)) {
    const got = model.params.get(name).dataSync();
    values.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-5 * Math.max(1, Math.abs(v)), `${name}[${i}]: ${got[i]} vs ${v}`));
  }
  tf.dispose([x, value, ...teacher, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before - 1, 'no tensors leak (the input was disposed)');
  model.dispose();
});

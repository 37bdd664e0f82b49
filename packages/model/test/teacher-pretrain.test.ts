import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  PyramidMamba, TeacherPretrainer, exportTeacherWeights, loadTeacherWeights, mulberry32, presetConfig,
  useBackend,
} from '../src/index.ts';
import { pretextDefects } from '../src/teacher/pretext-defects.ts';

before(async () => {
  await useBackend('wasm');
});

const SIZE = 32;
const PLANE = 3 * SIZE * SIZE;
const config = () => presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } });

/** n smooth random images in ImageNet-normalised range. */
function images(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n * PLANE);
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.05 + seed) + 0.3 * (r() - 0.5);
  return out;
}

test('pretext defects are deterministic, bounded, and touch only the pixels their masks cover', () => {
  const x = images(16, 1);
  const a = pretextDefects(x, 16, SIZE, x, 16, 9);
  const b = pretextDefects(x, 16, SIZE, x, 16, 9);
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.masks, b.masks);
  assert.ok(a.masks.every((m) => m >= 0 && m <= 1));
  let defective = 0;
  for (let i = 0; i < 16; i++) {
    const plane = SIZE * SIZE;
    const mask = a.masks.subarray(i * plane, (i + 1) * plane);
    const covered = mask.reduce((s, m) => s + (m > 0 ? 1 : 0), 0);
    if (covered > 0) defective++;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) {
        if (mask[p] === 0) assert.equal(a.images[i * PLANE + c * plane + p], x[i * PLANE + c * plane + p]);
      }
    }
    // Defects are local: never more than the window they are drawn in.
    assert.ok(covered <= 0.6 * plane, `image ${i}: ${covered} of ${plane} pixels`);
  }
  assert.ok(defective >= 4 && defective <= 12, `${defective} of 16 images got a defect (rate 0.5)`);
});

test('pretraining trains the encoder, leaves it frozen for the student, and frees what it allocates', () => {
  const model = new PyramidMamba(config(), 3);
  const conv1 = model.params.get('net_t.layer1.0.conv1.weight').dataSync().slice();
  const pre = new TeacherPretrainer(model, { seed: 2 });
  const x = images(4, 2);
  pre.step(x, 4, SIZE, x, 4);
  const tensors = tf.memory().numTensors;
  const { loss } = pre.step(x, 4, SIZE, x, 4);
  assert.ok(Number.isFinite(loss) && loss > 0);
  assert.equal(tf.memory().numTensors, tensors, 'a step leaves no tensors behind');
  assert.notDeepEqual(model.params.get('net_t.layer1.0.conv1.weight').dataSync(), conv1, 'the encoder learned');
  assert.ok(model.params.trainable().every((e) => !e.name.startsWith('net_t.')), 'the teacher is frozen again for the student');
  pre.dispose();
  model.dispose();
});

test('frozen stages keep their initialisation while the stages above them learn', () => {
  const model = new PyramidMamba(config(), 3);
  const snapshot = (name: string) => model.params.get(name).dataSync().slice();
  const names = ['net_t.conv1.weight', 'net_t.bn1.weight', 'net_t.layer1.1.conv2.weight', 'net_t.layer2.0.conv1.weight', 'net_t.layer3.1.bn2.weight'];
  const before = names.map(snapshot);
  const pre = new TeacherPretrainer(model, { seed: 2, frozenStages: 2 });
  const x = images(4, 2);
  for (let s = 0; s < 2; s++) pre.step(x, 4, SIZE, x, 4);
  const after = names.map(snapshot);
  assert.deepEqual(after.slice(0, 3), before.slice(0, 3), 'stem and layer1 untouched');
  for (const i of [3, 4]) assert.notDeepEqual(after[i], before[i], `${names[i]} learned`);
  pre.dispose();
  model.dispose();
});

test('a pretraining resumed from saved state ends with the same teacher as an uninterrupted one', () => {
  const x = images(6, 4);
  const straight = new PyramidMamba(config(), 5);
  const a = new TeacherPretrainer(straight, { seed: 7 });
  for (let s = 0; s < 3; s++) a.step(x.subarray(0, 4 * PLANE), 4, SIZE, x, 6);

  const first = new PyramidMamba(config(), 5);
  const b = new TeacherPretrainer(first, { seed: 7 });
  b.step(x.subarray(0, 4 * PLANE), 4, SIZE, x, 6);
  const saved = b.saveState();
  b.dispose();
  first.dispose();

  const resumed = new PyramidMamba(config(), 11);
  const c = new TeacherPretrainer(resumed, { seed: 7 });
  c.restore(saved.weights, saved.trainer);
  assert.equal(c.stepCount, 1);
  for (let s = 0; s < 2; s++) c.step(x.subarray(0, 4 * PLANE), 4, SIZE, x, 6);
  for (const e of straight.params.under('net_t.')) {
    assert.deepEqual(resumed.params.get(e.name).dataSync(), e.variable.dataSync(), e.name);
  }
  // The exported teacher loads into a fresh model as a torchvision-named file.
  const fresh = new PyramidMamba(config(), 0);
  const report = loadTeacherWeights(fresh, exportTeacherWeights(straight), 'teacher.safetensors');
  assert.equal(report.loaded, straight.params.under('net_t.').length);
  assert.deepEqual(fresh.params.get('net_t.layer3.1.bn2.running_var').dataSync(), straight.params.get('net_t.layer3.1.bn2.running_var').dataSync());
  for (const p of [a, c]) p.dispose();
  for (const m of [straight, resumed, fresh]) m.dispose();
});

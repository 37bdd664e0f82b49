import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { MemoryBankFit, PyramidMamba, calibrateEncoder, describeFittedMap, fitMemoryBank, gaussianStem, inferAnomalyMaps, loadCheckpoint, presetConfig, saveCheckpoint, useBackend, withFittedMap } from '../src/index.ts';
import { memoryDistance, memoryRows } from '../src/memory-bank.ts';

before(async () => {
  await useBackend('wasm');
});

/** The test images' side; the small preset's smallest input is 64², which inputScale 2 reaches. */
const SIZE = 32;
const FULL = 64;
const per = 3 * SIZE * SIZE;
/** n smooth random "texture" images, NCHW, seeded. */
function images(n: number, seed: number, side = SIZE): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, 3, side / 4, side / 4], 0, 1, 'float32', seed);
    const up = tf.image.resizeBilinear(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, [side, side]);
    return tf.transpose(up, [0, 3, 1, 2]).dataSync() as Float32Array;
  });
}

/** Brute-force nearest distances of every 7th query row to the bank's rows. */
function bruteForce(q: number[][], bank: { vectors: Float32Array; dim: number }): { i: number; d: number }[] {
  const rowsOfBank = bank.vectors.length / bank.dim;
  const out: { i: number; d: number }[] = [];
  for (let i = 0; i < q.length; i += 7) {
    let best = Infinity;
    for (let j = 0; j < rowsOfBank; j++) {
      let d = 0;
      for (let k = 0; k < bank.dim; k++) d += (q[i][k] - bank.vectors[j * bank.dim + k]) ** 2;
      best = Math.min(best, d);
    }
    out.push({ i, d: Math.sqrt(best) });
  }
  return out;
}

test('memoryDistance is the brute-force nearest-neighbour distance, on a teacher scale and on the stem', () => {
  const model = new PyramidMamba(presetConfig('small'), 5);
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(images(3, 2, FULL), [3, 3, FULL, FULL]), [0, 2, 3, 1]) as tf.Tensor4D);
  const maps = { ...model.forward(x), stem: model.teacherStem(x) };
  for (const [scale, features] of [[0, 'teacher'], [0, 'teacher+residual'], ['stem', 'teacher']] as const) {
    const bank = fitMemoryBank(model, images(4, 9, FULL), 4, FULL, { scale, features, inputScale: 1, bankSize: 37, seed: 1 });
    const stride = scale === 'stem' ? 2 : 4;
    assert.equal(bank.vectors.length, 37 * bank.dim);
    assert.equal(bank.locations, 4 * (FULL / stride) ** 2);
    assert.equal(bank.dim, features === 'teacher' ? 64 : 128);
    const rows = memoryRows(maps, { scale, features, classBanks: false });
    const q = rows.arraySync();
    rows.dispose();
    const got = memoryDistance(maps, bank);
    assert.equal(got.length, q.length);
    for (const { i, d } of bruteForce(q, bank)) assert.ok(Math.abs(got[i] - d) < 1e-3 * (1 + d), `${scale}/${features} location ${i}: ${got[i]} vs ${d}`);
  }
  assert.throws(() => new MemoryBankFit({ scale: 'stem', features: 'teacher+residual', inputScale: 1, bankSize: 5 }), /stem has no student/);
  tf.dispose([x, maps.teacher, maps.student, maps.stem]);
  model.dispose();
});

test('the bank is a seeded sample of every location, bounded in size', () => {
  const model = new PyramidMamba(presetConfig('small'), 5);
  const train = images(6, 4, FULL);
  const a = fitMemoryBank(model, train, 6, FULL, { scale: 1, features: 'teacher', inputScale: 1, bankSize: 50, seed: 3, batchSize: 2 });
  const b = fitMemoryBank(model, train, 6, FULL, { scale: 1, features: 'teacher', inputScale: 1, bankSize: 50, seed: 3, batchSize: 4 });
  assert.deepEqual(Array.from(a.vectors), Array.from(b.vectors), 'the sample does not depend on the batching');
  const all = fitMemoryBank(model, train, 6, FULL, { scale: 1, features: 'teacher', inputScale: 1, bankSize: 10_000, seed: 3 });
  assert.equal(all.vectors.length / all.dim, 6 * (FULL / 8) ** 2, 'a bank larger than the locations holds them all');
  assert.throws(() => new MemoryBankFit({ scale: 0, features: 'teacher', inputScale: 3, bankSize: 5 }), /inputScale/);
  assert.throws(() => new MemoryBankFit({ scale: 0, features: 'teacher', inputScale: 1, bankSize: 5 }).finish(), /no images/);
  model.dispose();
});

test('the memory map is 0 on images in the bank, higher on a defect, and travels in the checkpoint', () => {
  const model = new PyramidMamba(presetConfig('small'), 3);
  const train = images(8, 1);
  // inputScale 2: the model sees 64² images; the maps come back at 32².
  const bank = fitMemoryBank(model, train, 8, SIZE, { scale: 0, features: 'teacher', inputScale: 2, bankSize: 100_000, seed: 0 });
  assert.equal(bank.locations, 8 * ((2 * SIZE) / 4) ** 2);
  const seen = inferAnomalyMaps(model, train.subarray(0, 2 * per), 2, SIZE, { sigma: 0, memoryBank: bank });
  assert.equal(seen.maps.length, 2 * SIZE * SIZE);
  assert.ok(Math.max(...seen.scores) < 1e-2, `a training image's locations are in the bank: ${Math.max(...seen.scores)}`);
  const test = images(4, 2);
  const defective = Float32Array.from(test);
  for (let i = 0; i < 4; i++) for (let ch = 0; ch < 3; ch++) for (let y = 12; y < 20; y++) for (let x = 12; x < 20; x++) defective[i * per + ch * SIZE * SIZE + y * SIZE + x] = (y + x) % 2 ? 3 : -3;
  const normal = inferAnomalyMaps(model, test, 4, SIZE, { sigma: 1, memoryBank: bank });
  const bad = inferAnomalyMaps(model, defective, 4, SIZE, { sigma: 1, memoryBank: bank });
  for (let i = 0; i < 4; i++) assert.ok(bad.scores[i] > normal.scores[i], `image ${i}: ${bad.scores[i]} vs ${normal.scores[i]}`);

  const loaded = loadCheckpoint(withFittedMap(saveCheckpoint(model), { memoryBank: bank }));
  assert.ok(loaded.fittedMap && 'memoryBank' in loaded.fittedMap);
  const { vectors, ...settings } = loaded.fittedMap.memoryBank;
  assert.deepEqual(settings, { scale: 0, features: 'teacher', inputScale: 2, classBanks: false, dim: bank.dim, locations: bank.locations });
  assert.deepEqual(Array.from(vectors), Array.from(bank.vectors));
  const again = inferAnomalyMaps(loaded.model, defective, 4, SIZE, { sigma: 1, ...loaded.fittedMap });
  assert.deepEqual(Array.from(again.scores), Array.from(bad.scores));
  assert.throws(() => inferAnomalyMaps(model, test, 4, SIZE, { memoryBank: { ...bank, scale: 5 } }), /scale 5/);
  loaded.model.dispose();
  model.dispose();
});

test('a stem bank reads only the stem (stride 2) and travels in the checkpoint under its name', () => {
  const model = new PyramidMamba(presetConfig('small'), 3);
  const train = images(6, 1);
  const bank = fitMemoryBank(model, train, 6, SIZE, { scale: 'stem', features: 'teacher', inputScale: 2, bankSize: 100_000, seed: 0 });
  assert.equal(bank.locations, 6 * ((2 * SIZE) / 2) ** 2);
  const seen = inferAnomalyMaps(model, train.subarray(0, 2 * per), 2, SIZE, { sigma: 0, memoryBank: bank });
  assert.ok(Math.max(...seen.scores) < 1e-2, `a training image's locations are in the bank: ${Math.max(...seen.scores)}`);
  const test = images(3, 2);
  const defective = Float32Array.from(test);
  for (let i = 0; i < 3; i++) for (let y = 14; y < 17; y++) for (let x = 10; x < 22; x++) defective[i * per + y * SIZE + x] = 3;
  const normal = inferAnomalyMaps(model, test, 3, SIZE, { sigma: 1, memoryBank: bank });
  const bad = inferAnomalyMaps(model, defective, 3, SIZE, { sigma: 1, memoryBank: bank });
  for (let i = 0; i < 3; i++) assert.ok(bad.scores[i] > normal.scores[i], `image ${i}: ${bad.scores[i]} vs ${normal.scores[i]}`);

  const bytes = withFittedMap(saveCheckpoint(model), { memoryBank: bank });
  const loaded = loadCheckpoint(bytes);
  assert.ok(loaded.fittedMap && 'memoryBank' in loaded.fittedMap);
  assert.equal(loaded.fittedMap.memoryBank.scale, 'stem');
  const again = inferAnomalyMaps(loaded.model, defective, 3, SIZE, { sigma: 1, ...loaded.fittedMap });
  assert.deepEqual(Array.from(again.scores), Array.from(bad.scores));
  loaded.model.dispose();
  model.dispose();
});

/** Images of two textures with different statistics: `a` smooth, `b` finer, brighter and stronger. */
function twoClasses(n: number, seed: number): { a: Float32Array; b: Float32Array } {
  const a = images(n, seed, FULL);
  const b = tf.tidy(() => {
    const x = tf.randomNormal([n, 3, FULL / 2, FULL / 2], 0, 1, 'float32', seed + 100);
    const up = tf.image.resizeBilinear(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, [FULL, FULL]);
    return tf.add(tf.mul(tf.transpose(up, [0, 3, 1, 2]), 2.5), 0.8).dataSync() as Float32Array;
  });
  return { a, b };
}

/** A model whose Gaussian stem is calibrated on these images (as training does). */
function calibrated(train: Float32Array, n: number): PyramidMamba {
  const model = new PyramidMamba(presetConfig('small'), 4);
  gaussianStem(model);
  calibrateEncoder(model, train, n, FULL);
  return model;
}

test('class banks: a unified model scores each image as a model calibrated on its class alone, and the banks travel in the checkpoint', () => {
  const fitted = twoClasses(6, 1);
  const test = twoClasses(3, 2);
  const both = new Float32Array([...fitted.a, ...fitted.b]);
  const classes = [...new Array(6).fill('a'), ...new Array(6).fill('b')];
  const unified = calibrated(both, 12);
  const settings = { scale: 'stem', features: 'teacher', inputScale: 1, bankSize: 100_000, seed: 0 } as const;
  const bank = fitMemoryBank(unified, both, 12, FULL, { ...settings, classBanks: true, classes, batchSize: 5 });
  assert.deepEqual(bank.classes!.names, ['a', 'b']);
  assert.deepEqual(bank.classes!.rows, [6 * 32 * 32, 6 * 32 * 32], 'every location of each class (the bank is larger)');
  assert.equal(bank.locations, 12 * 32 * 32);
  assert.deepEqual(Array.from(bank.classes!.router.classOf), classes.map((c) => (c === 'a' ? 0 : 1)));
  for (const name of ['a', 'b'] as const) {
    // The per-class model: the same teacher, its stem calibrated on this class's images only.
    const own = calibrated(fitted[name], 6);
    const ownBank = fitMemoryBank(own, fitted[name], 6, FULL, settings);
    const want = inferAnomalyMaps(own, test[name], 3, FULL, { sigma: 0, memoryBank: ownBank });
    const got = inferAnomalyMaps(unified, test[name], 3, FULL, { sigma: 0, memoryBank: bank });
    const single = inferAnomalyMaps(unified, test[name], 3, FULL, { sigma: 0, memoryBank: fitMemoryBank(unified, both, 12, FULL, settings) });
    let worst = 0;
    let worstSingle = 0;
    for (let i = 0; i < want.maps.length; i++) {
      worst = Math.max(worst, Math.abs(got.maps[i] - want.maps[i]) / (1 + want.maps[i]));
      worstSingle = Math.max(worstSingle, Math.abs(single.maps[i] - want.maps[i]) / (1 + want.maps[i]));
    }
    // Not exact: the class's standardisation divides the calibrated stem's output by √(var + ε),
    // a calibrated BatchNorm its input; channels of tiny variance feel ε differently (measured 0.5 %).
    assert.ok(worst < 1e-2, `class ${name}: class bank vs per-class model, worst relative difference ${worst}`);
    assert.ok(worstSingle > 0.05, `class ${name}: one bank over both classes is not the per-class model (${worstSingle})`);
    own.dispose();
  }
  const bytes = withFittedMap(saveCheckpoint(unified), { memoryBank: bank });
  const loaded = loadCheckpoint(bytes);
  assert.ok(loaded.fittedMap && 'memoryBank' in loaded.fittedMap);
  assert.match(describeFittedMap(loaded.fittedMap), /in 2 class bank\(s\) \(a 6144, b 6144\)/);
  const before = inferAnomalyMaps(unified, test.b, 3, FULL, { sigma: 1, memoryBank: bank });
  const after = inferAnomalyMaps(loaded.model, test.b, 3, FULL, { sigma: 1, ...loaded.fittedMap });
  assert.deepEqual(Array.from(after.maps), Array.from(before.maps));
  loaded.model.dispose();
  unified.dispose();
});

test('class banks are bounded per class, sample the same whatever the batching, and work on a feature scale', () => {
  const { a, b } = twoClasses(4, 3);
  const both = new Float32Array([...a, ...b]);
  const classes = ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'];
  const model = calibrated(both, 8);
  const opts = { scale: 1, features: 'teacher', inputScale: 1, classBanks: true, bankSize: 50, seed: 2, classes } as const;
  const one = fitMemoryBank(model, both, 8, FULL, { ...opts, batchSize: 3 });
  const two = fitMemoryBank(model, both, 8, FULL, { ...opts, batchSize: 8 });
  assert.deepEqual(one.classes!.rows, [50, 50]);
  assert.equal(one.classes!.norm, undefined, 'a feature scale is not restandardised');
  assert.deepEqual(Array.from(one.vectors), Array.from(two.vectors));
  const maps = inferAnomalyMaps(model, both.subarray(0, 2 * 3 * FULL * FULL), 2, FULL, { sigma: 0, memoryBank: one });
  assert.ok(maps.scores.every(Number.isFinite));
  assert.throws(() => fitMemoryBank(model, both, 8, FULL, { ...opts, classes: ['a'] }), /8 images but 1 class names/);
  model.dispose();
});

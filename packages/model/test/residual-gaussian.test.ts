import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { PyramidMamba, fitResidualGaussian, inferAnomalyMaps, loadCheckpoint, presetConfig, saveCheckpoint, useBackend, withFittedMap } from '../src/index.ts';
import { invertSpd } from '../src/residual-gaussian.ts';

before(async () => {
  await useBackend('wasm');
});

const SIZE = 64;
const per = 3 * SIZE * SIZE;
/** n smooth random "texture" images, NCHW, seeded. */
function images(n: number, seed: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.randomNormal([n, 3, SIZE / 4, SIZE / 4], 0, 1, 'float32', seed);
    const up = tf.image.resizeBilinear(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, [SIZE, SIZE]);
    return tf.transpose(up, [0, 3, 1, 2]).dataSync() as Float32Array;
  });
}

test('invertSpd inverts a symmetric positive definite matrix', () => {
  const a = Float64Array.from([4, 2, 0.6, 2, 5, 1, 0.6, 1, 3]);
  const inv = invertSpd(a, 3);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[i * 3 + k] * inv[k * 3 + j];
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-12, `(A·A⁻¹)[${i},${j}] = ${s}`);
    }
  }
});

test('the residual-Gaussian map is ≈1 on the images it was fitted on, higher on a defect, and travels in the checkpoint', () => {
  const model = new PyramidMamba(presetConfig('small'), 3);
  const train = images(24, 1);
  const rg = fitResidualGaussian(model, train, 24, SIZE, { scales: [0, 1], batchSize: 8 });
  assert.deepEqual(rg.gaussians.map((g) => g.scale), [0, 1]);
  assert.equal(rg.locations, 24 * (SIZE / 4) ** 2);

  // The normaliser is the mean squared distance of the fitted residuals: recompute it directly
  // (float64 Mahalanobis of every location's residual) on scale 0.
  const g = rg.gaussians[0];
  const x = tf.tidy(() => tf.transpose(tf.tensor4d(train, [24, 3, SIZE, SIZE]), [0, 2, 3, 1]) as tf.Tensor4D);
  const { teacher, student } = model.forward(x);
  const r = tf.tidy(() => {
    const unit = (v: tf.Tensor4D) => tf.div(v, tf.maximum(tf.norm(v, 'euclidean', -1, true), 1e-8));
    return tf.sub(unit(teacher[0]), unit(student[0])).dataSync();
  });
  tf.dispose([x, teacher, student]);
  const c = g.channels;
  let sum = 0;
  for (let at = 0; at < r.length; at += c) {
    for (let i = 0; i < c; i++) {
      let v = 0;
      for (let j = 0; j < c; j++) v += g.precision[i * c + j] * (r[at + j] - g.mean[j]);
      sum += (r[at + i] - g.mean[i]) * v;
    }
  }
  const meanSq = sum / (r.length / c);
  assert.ok(Math.abs(meanSq / g.typical - 1) < 2e-3, `mean squared distance ${meanSq} vs typical ${g.typical}`);

  // A checkerboard patch in otherwise smooth images scores above the same images without it.
  const test = images(6, 2);
  const defective = Float32Array.from(test);
  for (let i = 0; i < 6; i++) for (let ch = 0; ch < 3; ch++) for (let y = 24; y < 40; y++) for (let xx = 24; xx < 40; xx++) defective[i * per + ch * SIZE * SIZE + y * SIZE + xx] = (y + xx) % 2 ? 3 : -3;
  const opts = { sigma: 1, residualGaussian: rg };
  const normal = inferAnomalyMaps(model, test, 6, SIZE, opts);
  const bad = inferAnomalyMaps(model, defective, 6, SIZE, opts);
  for (let i = 0; i < 6; i++) assert.ok(bad.scores[i] > normal.scores[i], `image ${i}: ${bad.scores[i]} vs ${normal.scores[i]}`);

  // Stored beside the weights, read back: the same maps; the plain checkpoint keeps the cosine map.
  const plain = saveCheckpoint(model);
  const fitted = withFittedMap(plain, { residualGaussian: rg }, { metadata: { note: 'test' } });
  const loaded = loadCheckpoint(fitted);
  assert.equal(loaded.metadata.note, 'test');
  assert.deepEqual((loaded.fittedMap && 'residualGaussian' in loaded.fittedMap ? loaded.fittedMap.residualGaussian.gaussians : []).map((q) => [q.scale, q.channels, q.typical]), rg.gaussians.map((q) => [q.scale, q.channels, q.typical]));
  const again = inferAnomalyMaps(loaded.model, defective, 6, SIZE, { sigma: 1, ...loaded.fittedMap! });
  assert.deepEqual(Array.from(again.scores), Array.from(bad.scores));
  const cosine = loadCheckpoint(plain);
  assert.equal(cosine.fittedMap, undefined);
  // Refitting replaces the map rather than adding a second one.
  const refit = loadCheckpoint(withFittedMap(fitted, { residualGaussian: { ...rg, gaussians: [rg.gaussians[1]] } }));
  assert.equal(refit.fittedMap && 'residualGaussian' in refit.fittedMap ? refit.fittedMap.residualGaussian.gaussians.length : 0, 1);
  refit.model.dispose();
  loaded.model.dispose();
  cosine.model.dispose();
  model.dispose();
});

test('a scale the model does not have is refused', () => {
  const model = new PyramidMamba(presetConfig('small'), 3);
  assert.throws(() => fitResidualGaussian(model, images(2, 1), 2, SIZE, { scales: [3] }), /scale 3 does not exist/);
  model.dispose();
});

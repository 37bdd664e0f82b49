import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { PyramidMamba, presetConfig, useBackend } from '../src/index.ts';

before(async () => {
  await useBackend('wasm');
});

test('teacher BatchNorm calibration keeps the running mean of batch statistics, as torch momentum=None', () => {
  const model = new PyramidMamba(presetConfig('small'), 1);
  const xs = [3, 4].map((s) => tf.add(tf.mul(tf.randomNormal([3, 64, 64, 3], 0, 1, 'float32', s), s), s - 3) as tf.Tensor4D);
  const before = tf.memory().numTensors;
  xs.forEach((x, i) => model.encoder.calibrate(x, i));
  assert.equal(tf.memory().numTensors, before, 'calibration leaves no tensors');

  // The stem's BN sees conv1(x): its statistics are the mean over both batches of each batch's moments.
  const w = model.params.get('net_t.conv1.weight') as tf.Tensor4D;
  const moments = xs.map((x) => tf.tidy(() => {
    const y = tf.conv2d(x, w, 2, [[0, 0], [3, 3], [3, 3], [0, 0]]);
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    const n = y.size / y.shape[3];
    return { mean: mean.dataSync(), variance: tf.mul(variance, n / (n - 1)).dataSync() };
  }));
  const runningMean = model.params.get('net_t.bn1.running_mean').dataSync();
  const runningVar = model.params.get('net_t.bn1.running_var').dataSync();
  for (let c = 0; c < runningMean.length; c++) {
    const m = (moments[0].mean[c] + moments[1].mean[c]) / 2;
    const v = (moments[0].variance[c] + moments[1].variance[c]) / 2;
    assert.ok(Math.abs(runningMean[c] - m) <= 1e-4 * (1 + Math.abs(m)), `channel ${c}: mean ${runningMean[c]} vs ${m}`);
    assert.ok(Math.abs(runningVar[c] - v) <= 1e-4 * (1 + v), `channel ${c}: var ${runningVar[c]} vs ${v}`);
  }
  assert.equal(model.params.ints.get('net_t.bn1.num_batches_tracked')!.values[0], 2n);

  // In eval mode the deepest teacher map of calibration-like data is now normalised: its
  // pre-activation scale no longer grows with depth (uncalibrated: identity BN on kaiming weights).
  const fresh = new PyramidMamba(presetConfig('small'), 1);
  const scale = (m: PyramidMamba) => tf.tidy(() => {
    const f = m.teacher(xs[0]);
    return Math.sqrt(tf.mean(tf.square(f[2])).dataSync()[0]);
  });
  const calibrated = scale(model);
  const raw = scale(fresh);
  assert.ok(calibrated > 0.3 && calibrated < 3, `calibrated layer3 RMS ${calibrated}`);
  assert.ok(raw > 3 * calibrated, `uncalibrated layer3 RMS ${raw} vs calibrated ${calibrated}`);
  tf.dispose(xs);
  model.dispose();
  fresh.dispose();
});

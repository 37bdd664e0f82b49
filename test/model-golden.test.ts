// The TypeScript model against golden cases made by the PyTorch reference
// (packages/model/test/fixtures/make_golden.py): same generated weights, same inputs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, npyToFloat32 } from '@pmamba/data';
import { PyramidMamba, anomalyMaps, nchwToNhwc, presetConfig, useBackend } from '@pmamba/model';
import { applyTestWeights, testUniform, testValues } from '../packages/model/test/support/test-weights.ts';

const GOLDEN = join(import.meta.dirname, '../packages/model/test/fixtures/golden');

function npy(caseName: string, name: string) {
  const a = readNpy(join(GOLDEN, caseName, `${name}.npy`));
  return { data: npyToFloat32(a.data), shape: [...a.shape] };
}

/** NCHW expected array vs our NHWC tensor: max absolute difference. */
function maxDiffNchw(expected: { data: Float32Array; shape: number[] }, actual: tf.Tensor4D): number {
  const [n, c, h, w] = expected.shape;
  assert.deepEqual(actual.shape, [n, h, w, c]);
  const a = actual.dataSync();
  let m = 0;
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
    const d = Math.abs(a[((i * h + y) * w + x) * c + k] - expected.data[((i * c + k) * h + y) * w + x]);
    if (d > m) m = d;
  }
  return m;
}

before(async () => {
  await useBackend('wasm');
});

test('the weight generator matches the python mirror bit for bit', () => {
  const probe = JSON.parse(readFileSync(join(GOLDEN, 'generator_probe.json'), 'utf8'));
  assert.deepEqual([...testUniform('abc', 5, probe.seed)], probe.uniform_abc_5);
  const shapes: Record<string, number[]> = { 'net_t.conv1.weight': [1, 1, 2, 2], 'x.A_logs': [2, 2], 'y.dt_projs_bias': [4] };
  for (const [name, values] of Object.entries(probe.values as Record<string, number[]>)) {
    assert.deepEqual([...testValues(name, shapes[name], probe.seed)], values.map((v) => Math.fround(v)), name);
  }
});

for (const caseName of ['s64_t64', 's64_t4', 's128_t16']) {
  test(`golden case ${caseName}: encoder, bottleneck, decoder, anomaly maps`, () => {
    const meta = JSON.parse(readFileSync(join(GOLDEN, caseName, 'meta.json'), 'utf8'));
    const model = new PyramidMamba(presetConfig('reference', { pyramid: { mode: 'reference', level3Threshold: meta.level3_threshold } }));
    applyTestWeights(model.params, meta.seed);
    const before = tf.memory().numTensors;
    const input = npy(caseName, 'input');
    tf.tidy(() => {
      const x = nchwToNhwc(tf.tensor4d(input.data, input.shape as [number, number, number, number]));
      const teacher = model.teacher(x);
      const stages = model.studentStages(teacher);
      const student = [stages[3], stages[2], stages[1]] as typeof teacher;
      const diffs: Record<string, number> = {};
      for (let i = 0; i < 3; i++) diffs[`feats_t_${i}`] = maxDiffNchw(npy(caseName, `feats_t_${i}`), teacher[i]);
      diffs.dec_stage0 = maxDiffNchw(npy(caseName, 'dec_stage0'), stages[0]);
      for (let i = 0; i < 3; i++) diffs[`feats_s_${i}`] = maxDiffNchw(npy(caseName, `feats_s_${i}`), student[i]);
      const maps = anomalyMaps({ teacher, student }, { size: meta.size });
      const em = npy(caseName, 'anomaly_maps');
      const es = npy(caseName, 'image_scores');
      diffs.anomaly_maps = Math.max(...Array.from(maps.maps, (v, i) => Math.abs(v - em.data[i])));
      diffs.image_scores = Math.max(...Array.from(maps.scores, (v, i) => Math.abs(v - es.data[i])));
      console.log(caseName, JSON.stringify(diffs));
      // Expected values are float64; a float32 port measured ≤ 1e-5 (teacher), ≤ 5e-5 (decoder,
      // values up to ≈ 9), ≤ 4e-7 (maps). The bounds leave 10× margin; the issue asks maps ≤ 1e-4.
      for (let i = 0; i < 3; i++) assert.ok(diffs[`feats_t_${i}`] < 1e-4, `feats_t_${i} ${diffs[`feats_t_${i}`]}`);
      assert.ok(diffs.dec_stage0 < 5e-4, `dec_stage0 ${diffs.dec_stage0}`);
      for (let i = 0; i < 3; i++) assert.ok(diffs[`feats_s_${i}`] < 5e-4, `feats_s_${i} ${diffs[`feats_s_${i}`]}`);
      assert.ok(diffs.anomaly_maps < 1e-5, `anomaly maps ${diffs.anomaly_maps}`);
      assert.ok(diffs.image_scores < 1e-5, `image scores ${diffs.image_scores}`);
    });
    assert.equal(tf.memory().numTensors, before, 'inference leaks no tensors');
    model.dispose();
  });
}

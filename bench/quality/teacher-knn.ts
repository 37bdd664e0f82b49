/**
 * A diagnostic for issue 8: how much do the teacher's own features know? The frozen teacher
 * pmamba trains its student against (random ResNet, Gaussian or random stem, BatchNorm
 * calibrated on the training images) used directly as a patch-kNN detector: per class, a memory
 * bank of training feature vectors at one teacher scale, each test location scored by its
 * distance to the nearest bank vector, the image by its highest location. If this detects and
 * the trained student does not, reconstruction is what fails; if not, the teacher is.
 *   npx tsx bench/quality/teacher-knn.ts --data ROOT [--stem gauss|random] [--size 64] [--scales 0,1,2] [--bank 4096] [--seed 7]
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { loadBatch, openDataset } from '@pmamba/data';
import { PyramidMamba, calibrateEncoder, gaussianStem, presetConfig, useBackend, mulberry32 } from '@pmamba/model';
import { auroc, rankScores } from '@pmamba/metrics';
import { nearestDistances } from '../baselines/nearest-neighbours.ts';
import { machineLine } from '../machine.ts';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    stem: { type: 'string', default: 'gauss' },
    size: { type: 'string', default: '64' },
    scales: { type: 'string', default: '0,1,2' },
    bank: { type: 'string', default: '4096' },
    seed: { type: 'string', default: '7' },
  },
});
const size = Number(a.size);
const seed = Number(a.seed);
const t0 = performance.now();
await useBackend('wasm');
console.log(machineLine(`wasm backend; ${process.argv.slice(2).join(' ')}`));
const index = await openDataset(a.data!);
const model = new PyramidMamba(presetConfig('small'), seed);
if (a.stem === 'gauss') gaussianStem(model);
const all = await loadBatch(index.classes.flatMap((c) => c.train), { size, masks: false });
calibrateEncoder(model, all.images, Math.min(all.samples.length, 256), size);

/** Teacher features at `scale` of NCHW images: [n, h, w, c] values, and the map's side and width. */
function features(images: Float32Array, n: number, scale: number): { data: Float32Array; hw: number; c: number } {
  const out: Float32Array[] = [];
  let hw = 0;
  let c = 0;
  for (let at = 0; at < n; at += 8) {
    const k = Math.min(8, n - at);
    const f = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(images.subarray(at * 3 * size * size, (at + k) * 3 * size * size), [k, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D;
      return model.teacher(x)[scale];
    });
    [, hw, , c] = f.shape;
    out.push(f.dataSync() as Float32Array);
    f.dispose();
  }
  const data = new Float32Array(out.reduce((s, o) => s + o.length, 0));
  let o = 0;
  for (const part of out) (data.set(part, o), (o += part.length));
  return { data, hw, c };
}

const scales = a.scales!.split(',').map(Number);
const rand = mulberry32(seed);
const header = `class          ${scales.map((s) => `scale ${s}`.padStart(8)).join(' ')}   (I-AUROC %, max over locations)`;
console.log(header);
const means = scales.map(() => 0);
for (const cls of index.classes) {
  const train = await loadBatch(cls.train, { size, masks: false });
  const test = await loadBatch(cls.test, { size, masks: false });
  const cells: string[] = [];
  scales.forEach((scale, si) => {
    const bankAll = features(train.images, train.samples.length, scale);
    const vectors = bankAll.data.length / bankAll.c;
    const take = Math.min(Number(a.bank), vectors);
    const bank = new Float32Array(take * bankAll.c);
    for (let i = 0; i < take; i++) {
      const j = Math.floor(rand() * vectors);
      bank.set(bankAll.data.subarray(j * bankAll.c, (j + 1) * bankAll.c), i * bankAll.c);
    }
    const q = features(test.images, test.samples.length, scale);
    const d = nearestDistances(bank, q.data, q.c, 1);
    const per = q.hw * q.hw;
    const scores = Float32Array.from({ length: test.samples.length }, (_, i) => Math.max(...d.subarray(i * per, (i + 1) * per)));
    const v = auroc(rankScores(scores, test.labels));
    means[si] += v / index.classes.length;
    cells.push((100 * v).toFixed(1).padStart(8));
  });
  console.log(`${cls.name.padEnd(14)} ${cells.join(' ')}`);
}
console.log(`${'mean'.padEnd(14)} ${means.map((v) => (100 * v).toFixed(1).padStart(8)).join(' ')}   (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
process.exit(0);

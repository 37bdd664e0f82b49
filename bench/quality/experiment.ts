/**
 * The teacher ablation, in one process (no Redis, no store): teacher (random with calibrated
 * BatchNorm, or self-supervised pretraining, optionally with frozen lower stages) → student
 * training → per-class I-AUROC (map max and top-1 % mean), P-AUROC, AU-PRO, mAD, untrained and
 * trained, on an MVTec-layout folder. The numbers in docs/results.md come from it.
 *   npx tsx bench/quality/experiment.ts --data ROOT [--classes a,b] [--size 64]
 *       [--teacher random|pretext] [--pretrain-steps 150] [--pretrain-lr 0.001] [--frozen 0]
 *       [--steps 160] [--batch 4] [--lr 0.002] [--sigma 2] [--seed 7]
 *       [--residual-gauss --rg-scales 0] [--memory teacher|teacher+residual[,…] --input-scale 1|2[,…] --bank 16384 --mem-scale stem|0|1|2[,…] [--class-banks]]
 *       [--save MODEL | --load MODEL] [--skip-eval: no cosine-map tables, for fitted maps alone]
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadBatch, openDataset } from '@pmamba/data';
import { PyramidMamba, TeacherPretrainer, saveCheckpoint, loadCheckpoint, Trainer, calibrateEncoder, fitMemoryBank, fitResidualGaussian, gaussianStem, inferAnomalyMaps, presetConfig, useBackend, mulberry32, type MemoryFeatures, type ResidualGaussian } from '@pmamba/model';
import { computeAllMetrics, rankScores, auroc } from '@pmamba/metrics';
import { machineLine } from '../machine.ts';
import { printEvaluationTable } from './evaluation-table.ts';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    size: { type: 'string', default: '64' },
    teacher: { type: 'string', default: 'random' },
    'pretrain-steps': { type: 'string', default: '200' },
    'pretrain-batch': { type: 'string', default: '16' },
    'pretrain-lr': { type: 'string', default: '0.001' },
    steps: { type: 'string', default: '160' },
    batch: { type: 'string', default: '4' },
    lr: { type: 'string', default: '0.002' },
    sigma: { type: 'string', default: '2' },
    seed: { type: 'string', default: '7' },
    noise: { type: 'string', default: '0.05' },
    frozen: { type: 'string', default: '0' },
    classes: { type: 'string' },
    stem: { type: 'string', default: 'random' },
    'stem-sigmas': { type: 'string', default: '0.5,1,2' },
    'residual-gauss': { type: 'boolean', default: false },
    save: { type: 'string' },
    'rg-scales': { type: 'string', default: '0,1,2' },
    load: { type: 'string' },
    shrink: { type: 'string', default: '0.01' },
    memory: { type: 'string' },
    'input-scale': { type: 'string', default: '2' },
    bank: { type: 'string', default: '16384' },
    'mem-scale': { type: 'string', default: '0' },
    'skip-eval': { type: 'boolean', default: false },
    'class-banks': { type: 'boolean', default: false },
  },
});
const size = Number(a.size);
const seed = Number(a.seed);
const t0 = performance.now();
const secs = () => ((performance.now() - t0) / 1000).toFixed(0);
await useBackend('wasm');
console.log(machineLine(`wasm backend; ${process.argv.slice(2).join(' ')}`));
const index = await openDataset(a.data!, a.classes ? { classes: a.classes.split(',') } : {});
const trainSamples = index.classes.flatMap((c) => c.train);
const train = await loadBatch(trainSamples, { size, masks: false });
const nTrain = train.samples.length;
const per = 3 * size * size;
console.log(`${index.classes.length} classes, ${nTrain} training images at ${size}² (${secs()} s)`);

// --load: the trained model of an earlier run's --save (teacher, BatchNorm statistics and
// student), so scoring variants skip the training.
const model = a.load ? loadCheckpoint(readFileSync(a.load), { source: a.load }).model : new PyramidMamba(presetConfig('small', { noiseStd: Number(a.noise) }), seed);
const rand = mulberry32(seed);
const pick = (k: number) => {
  const out = new Float32Array(k * per);
  for (let i = 0; i < k; i++) {
    const j = Math.floor(rand() * nTrain);
    out.set(train.images.subarray(j * per, (j + 1) * per), i * per);
  }
  return out;
};
const nhwc = (x: Float32Array, k: number) => tf.tidy(() => tf.transpose(tf.tensor4d(x, [k, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D);

if (!a.load) {
  if (a.stem === 'gauss') gaussianStem(model, a['stem-sigmas']!.split(',').map(Number));
  if (a.teacher === 'pretext') {
    const pre = new TeacherPretrainer(model, { lr: Number(a['pretrain-lr']), seed, frozenStages: Number(a.frozen) });
    const bs = Number(a['pretrain-batch']);
    const steps = Number(a['pretrain-steps']);
    let avg = 0;
    for (let s = 0; s < steps; s++) {
      const r = pre.step(pick(bs), bs, size, train.images, nTrain);
      avg = s === 0 ? r.loss : 0.95 * avg + 0.05 * r.loss;
      if ((s + 1) % 25 === 0) console.log(`pretrain ${s + 1}/${steps} loss ${avg.toFixed(4)} (${secs()} s)`);
    }
    pre.dispose();
  }
  // Calibrate BatchNorm on clean images.
  calibrateEncoder(model, train.images, Math.min(nTrain, 256), size);
  console.log(`teacher ready (${secs()} s)`);
}

const evaluate = (label: string) => printEvaluationTable(model, index, label, { size, sigma: Number(a.sigma), nhwc, secs });

if (!a.load) {
  if (!a['skip-eval']) await evaluate('untrained student');
  const trainer = new Trainer(model, { lr: Number(a.lr), seed });
  const bs = Number(a.batch);
  const steps = Number(a.steps);
  for (let s = 0; s < steps; s++) {
    const x = nhwc(pick(bs), bs);
    const r = trainer.step(x);
    x.dispose();
    if ((s + 1) % 40 === 0) console.log(`student ${s + 1}/${steps} loss ${r.loss.toFixed(4)} (${secs()} s)`);
  }
  if (a.save) writeFileSync(a.save, saveCheckpoint(model));
}
if (!a['skip-eval']) await evaluate('trained');
if (a['residual-gauss']) {
  // Fit every scale once; each scale's own map gives its column, the chosen scales the map.
  const fit = fitResidualGaussian(model, train.images, nTrain, size, { scales: [0, 1, 2], shrinkage: Number(a.shrink) });
  const chosen = a['rg-scales']!.split(',').map(Number);
  const only = (scales: number[]): ResidualGaussian => ({ ...fit, gaussians: fit.gaussians.filter((g) => scales.includes(g.scale)) });
  console.log(`\n[residual Gaussian, scales ${chosen.join(',')}, fitted on the ${nTrain} training images; typical ${fit.gaussians.map((g) => g.typical.toFixed(1)).join(' ')}] (${secs()} s)`);
  let mean = 0;
  let meanP = 0;
  for (const cls of index.classes) {
    const test = await loadBatch(cls.test, { size });
    const n = test.samples.length;
    const sigma = Number(a.sigma);
    const r = inferAnomalyMaps(model, test.images, n, size, { sigma, residualGaussian: only(chosen) });
    const m = computeAllMetrics({ scores: r.scores, labels: test.labels, maps: r.maps, masks: test.masks, shape: [n, size, size] }).metrics;
    const scales = fit.gaussians.map((g) => (100 * auroc(rankScores(inferAnomalyMaps(model, test.images, n, size, { sigma: 0, residualGaussian: only([g.scale]) }).scores, test.labels))).toFixed(1));
    mean += m.i_auroc / index.classes.length;
    meanP += m.p_auroc / index.classes.length;
    console.log(`${cls.name.padEnd(14)} ${(100 * m.i_auroc).toFixed(1).padStart(6)} ${(100 * m.p_auroc).toFixed(1).padStart(6)}   scales ${scales.join(' ')}`);
  }
  console.log(`${'mean'.padEnd(14)} ${(100 * mean).toFixed(1).padStart(6)} ${(100 * meanP).toFixed(1).padStart(6)}  (${secs()} s)`);
}
if (a.memory) {
  // One bank over every class's training images (a unified model's), or one per class with
  // --class-banks; per feature kind and input scale.
  const trainClasses = train.samples.map((s) => s.className);
  for (const features of a.memory.split(',') as MemoryFeatures[]) {
    for (const [scale, inputScale] of a['mem-scale']!.split(',').flatMap((sc) => a['input-scale']!.split(',').map((i) => [sc === 'stem' ? sc : Number(sc), Number(i)] as const))) {
      if (scale === 'stem' && features !== 'teacher') continue;
      const memoryBank = fitMemoryBank(model, train.images, nTrain, size, { scale, features, inputScale, bankSize: Number(a.bank), seed, classBanks: a['class-banks'], classes: trainClasses });
      console.log(`\n[memory bank: ${features}, scale ${memoryBank.scale}, input ×${inputScale}, ${memoryBank.vectors.length / memoryBank.dim} of ${memoryBank.locations} training locations] (${secs()} s)`);
      let mean = 0;
      let meanP = 0;
      for (const cls of index.classes) {
        const test = await loadBatch(cls.test, { size });
        const n = test.samples.length;
        const r = inferAnomalyMaps(model, test.images, n, size, { sigma: Number(a.sigma), memoryBank });
        const m = computeAllMetrics({ scores: r.scores, labels: test.labels, maps: r.maps, masks: test.masks, shape: [n, size, size] }).metrics;
        mean += m.i_auroc / index.classes.length;
        meanP += m.p_auroc / index.classes.length;
        console.log(`${cls.name.padEnd(14)} ${(100 * m.i_auroc).toFixed(1).padStart(6)} ${(100 * m.p_auroc).toFixed(1).padStart(6)} ${(100 * m.au_pro).toFixed(1).padStart(6)}`);
      }
      console.log(`${'mean'.padEnd(14)} ${(100 * mean).toFixed(1).padStart(6)} ${(100 * meanP).toFixed(1).padStart(6)}  (${secs()} s)`);
    }
  }
}
process.exit(0);

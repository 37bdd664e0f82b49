/**
 * A teacher made by distilling hand-made texture features into the ResNet encoder, then the
 * student training and evaluation exactly as experiment.ts does them (same defaults, same table).
 *   npx tsx bench/quality/texture-teacher.ts --data ROOT [--classes a,b] [--size 64] [--seed 7]
 *       [--stem gauss|random] [--distil-steps 200] [--distil-batch 16] [--distil-lr 0.001]
 *       [--frozen 0] [--channels 1] [--keep 0] [--restandardise] [--knn]
 *       [--feature-sigmas 1,2,4] [--noise 0.5] [--steps 160] [--batch 4] [--lr 0.002] [--sigma 2]
 *
 * The distillation: per training image the 42-dim features of bench/baselines/gaussian-features.ts
 * (σ 1, 2, 4; colour, jet, energy) at the input resolution, each dim standardised over the
 * training set, average-pooled to each encoder stage's side (texture-targets.ts). The encoder
 * (all stages, or with the first `--frozen` stages kept, as TeacherPretrainer's frozenStages)
 * plus one linear 1×1 head per stage (the first `--channels` share of the stage's channels → 42)
 * regress them with MSE (AdamW, clipped gradients, train-mode BatchNorm). `--keep λ` adds
 * λ·‖f − f₀‖²/‖f₀‖² per stage, f₀ the features of an untouched copy of the initial encoder on the
 * same batch, so the teacher keeps its random features and gains texture channels. The heads are
 * thrown away; BatchNorm is calibrated on clean training images; then student → tables.
 * `--knn` also prints the distilled teacher's own patch-kNN I-AUROC per scale (teacher-knn.ts).
 * Distillation batches use their own random stream, so the student sees the same batches as in
 * experiment.ts with the same seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { loadBatch, openDataset } from '@pmamba/data';
import { PyramidMamba, Trainer, calibrateEncoder, gaussianStem, presetConfig, useBackend, mulberry32, nchwToNhwc } from '@pmamba/model';
import { rankScores, auroc } from '@pmamba/metrics';
import { ParamRegistry } from '../../packages/model/src/params.ts';
import { AdamW, type NamedVariable } from '../../packages/model/src/optim/adamw.ts';
import { clipGradNorm } from '../../packages/model/src/optim/clip-grad-norm.ts';
import { initialize } from '../../packages/model/src/init.ts';
import { encoderChannels } from '../../packages/model/src/config.ts';
import { matMul } from '../../packages/model/src/ops/matmul.ts';
import { nearestDistances } from '../baselines/nearest-neighbours.ts';
import { machineLine } from '../machine.ts';
import { printEvaluationTable } from './evaluation-table.ts';
import { textureTargets } from './texture-targets.ts';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    size: { type: 'string', default: '64' },
    'distil-steps': { type: 'string', default: '200' },
    'distil-batch': { type: 'string', default: '16' },
    'distil-lr': { type: 'string', default: '0.001' },
    frozen: { type: 'string', default: '0' },
    channels: { type: 'string', default: '1' },
    keep: { type: 'string', default: '0' },
    restandardise: { type: 'boolean', default: false },
    knn: { type: 'boolean', default: false },
    'feature-sigmas': { type: 'string', default: '1,2,4' },
    steps: { type: 'string', default: '160' },
    batch: { type: 'string', default: '4' },
    lr: { type: 'string', default: '0.002' },
    sigma: { type: 'string', default: '2' },
    seed: { type: 'string', default: '7' },
    noise: { type: 'string', default: '0.5' },
    classes: { type: 'string' },
    stem: { type: 'string', default: 'gauss' },
    'stem-sigmas': { type: 'string', default: '0.5,1,2' },
  },
});
const size = Number(a.size);
const seed = Number(a.seed);
const t0 = performance.now();
const secs = () => ((performance.now() - t0) / 1000).toFixed(0);
await useBackend('wasm');
console.log(machineLine(`wasm backend; texture-teacher ${process.argv.slice(2).join(' ')}`));
const index = await openDataset(a.data!, a.classes ? { classes: a.classes.split(',') } : {});
const trainSamples = index.classes.flatMap((c) => c.train);
const train = await loadBatch(trainSamples, { size, masks: false });
const nTrain = train.samples.length;
const per = 3 * size * size;
console.log(`${index.classes.length} classes, ${nTrain} training images at ${size}² (${secs()} s)`);

const config = presetConfig('small', { noiseStd: Number(a.noise) });
const model = new PyramidMamba(config, seed);
const rand = mulberry32(seed);
const pickWith = (r: () => number, k: number) => {
  const idx = Array.from({ length: k }, () => Math.floor(r() * nTrain));
  const out = new Float32Array(k * per);
  idx.forEach((j, i) => out.set(train.images.subarray(j * per, (j + 1) * per), i * per));
  return { out, idx };
};
const pick = (k: number) => pickWith(rand, k).out;
const nhwc = (x: Float32Array, k: number) => tf.tidy(() => tf.transpose(tf.tensor4d(x, [k, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D);

if (a.stem === 'gauss') gaussianStem(model, a['stem-sigmas']!.split(',').map(Number));

// ---- Distillation of the hand-made texture features into the encoder ----
const FROZEN_PREFIXES = [['net_t.conv1.', 'net_t.bn1.'], ['net_t.layer1.'], ['net_t.layer2.'], ['net_t.layer3.']];
const distilSteps = Number(a['distil-steps']);
if (distilSteps > 0) {
  const sides = [size / 4, size / 8, size / 16];
  const targets = textureTargets(train.images, nTrain, size, sides, {
    sigmas: a['feature-sigmas']!.split(',').map(Number),
    groups: ['colour', 'jet', 'energy'],
    restandardise: a.restandardise,
  });
  const D = targets.dim;
  const stageVar = targets.stages.map((s) => s.reduce((acc, v) => acc + v * v, 0) / s.length);
  console.log(`targets: ${D} dims, mean square per stage ${stageVar.map((v) => v.toFixed(3)).join(' / ')} (${secs()} s)`);

  const chans = encoderChannels(config.encoder);
  const used = chans.map((c) => Math.max(1, Math.round(c * Number(a.channels))));
  const head = new ParamRegistry();
  const heads = used.map((c, i) => ({
    w: head.add(`distil${i}.weight`, [D, c], { layout: 'linear', init: { kind: 'normal', std: Math.sqrt(1 / c) } }),
    b: head.add(`distil${i}.bias`, [D], { init: { kind: 'zeros' } }),
  }));
  initialize(head, seed);
  const frozen = FROZEN_PREFIXES.slice(0, Number(a.frozen)).flat();
  const encoder = model.params.under('net_t.').filter((e) => !/running_(mean|var)$/.test(e.name) && !frozen.some((p) => e.name.startsWith(p)));
  const trained: NamedVariable[] = [...encoder, ...head.entries.values()].map((e) => ({ name: e.name, variable: e.variable }));
  const lr = Number(a['distil-lr']);
  const optimizer = new AdamW(trained, { lr, weightDecay: 1e-4 });
  const keep = Number(a.keep);
  // The untouched initial encoder (same seed, same stem) for the keep-close-to-init term.
  const reference = keep > 0 ? new PyramidMamba(config, seed) : undefined;
  if (reference && a.stem === 'gauss') gaussianStem(reference, a['stem-sigmas']!.split(',').map(Number));
  const distilRand = mulberry32((seed * 7919 + 31337) >>> 0);
  const bs = Number(a['distil-batch']);
  const vars = trained.map((t) => t.variable);
  const avg = [0, 0];
  for (let s = 0; s < distilSteps; s++) {
    const { out, idx } = pickWith(distilRand, bs);
    const tgt = targets.stages.map((st, si) => {
      const side = sides[si];
      const block = side * side * D;
      const buf = new Float32Array(bs * block);
      idx.forEach((j, i) => buf.set(st.subarray(j * block, (j + 1) * block), i * block));
      return tf.tensor4d(buf, [bs, side, side, D]);
    });
    const x = tf.tidy(() => nchwToNhwc(tf.tensor4d(out, [bs, 3, size, size])));
    const ref = reference ? reference.encoder.train(x) : undefined;
    const fz = vars.filter((v) => !v.trainable);
    for (const v of fz) v.trainable = true;
    let parts = [0, 0];
    let kept: tf.Scalar[] = [];
    try {
      const { value, grads } = tf.variableGrads(() => {
        const feats = model.encoder.train(x);
        const mse = tf.div(tf.addN(feats.map((f, i) => {
          const [n, h, w, c] = f.shape;
          const sub = used[i] < c ? tf.slice(f, [0, 0, 0, 0], [n, h, w, used[i]]) : f;
          const pred = tf.add(matMul(tf.reshape(sub, [n * h * w, used[i]]), heads[i].w), heads[i].b);
          return tf.mean(tf.square(tf.sub(pred, tf.reshape(tgt[i], [n * h * w, D]))));
        })), 3) as tf.Scalar;
        const keepTerm = ref
          ? (tf.div(tf.addN(feats.map((f, i) => tf.div(tf.mean(tf.square(tf.sub(f, ref[i]))), tf.add(tf.mean(tf.square(ref[i])), 1e-6)))), 3) as tf.Scalar)
          : tf.scalar(0);
        kept = [tf.keep(mse), tf.keep(keepTerm)];
        return tf.add(mse, tf.mul(keep, keepTerm)) as tf.Scalar;
      }, vars);
      parts = kept.map((t) => t.dataSync()[0]);
      tf.dispose(kept);
      value.dispose();
      const named = new Map(trained.map((t) => [t.name, grads[t.variable.name]]));
      clipGradNorm(named, 5);
      optimizer.step(named, lr);
      tf.dispose([...named.values()]);
    } finally {
      for (const v of fz) v.trainable = false;
    }
    tf.dispose([x, ...tgt, ...(ref ?? [])]);
    for (let k = 0; k < 2; k++) avg[k] = s === 0 ? parts[k] : 0.95 * avg[k] + 0.05 * parts[k];
    if (s === 0 || (s + 1) % 25 === 0) console.log(`distil ${s + 1}/${distilSteps} mse ${avg[0].toFixed(4)} keep ${avg[1].toFixed(4)} (${secs()} s)`);
  }
  optimizer.dispose();
  head.dispose();
  reference?.params.dispose();
}
// Calibrate BatchNorm on clean images.
calibrateEncoder(model, train.images, Math.min(nTrain, 256), size);
console.log(`teacher ready (${secs()} s)`);

/** The teacher's own features as a patch-kNN detector (as teacher-knn.ts, bank 4096). */
const teacherKnn = async () => {
  const feats = (images: Float32Array, n: number, scale: number) => {
    const out: Float32Array[] = [];
    let hw = 0;
    let c = 0;
    for (let at = 0; at < n; at += 8) {
      const k = Math.min(8, n - at);
      const f = tf.tidy(() => model.teacher(nhwc(images.slice(at * per, (at + k) * per), k))[scale]);
      [, hw, , c] = f.shape;
      out.push(f.dataSync() as Float32Array);
      f.dispose();
    }
    const data = new Float32Array(out.reduce((s, o) => s + o.length, 0));
    let o = 0;
    for (const part of out) (data.set(part, o), (o += part.length));
    return { data, hw, c };
  };
  const krand = mulberry32(seed);
  const means = [0, 0, 0];
  const rows: string[] = [];
  for (const cls of index.classes) {
    const tr = await loadBatch(cls.train, { size, masks: false });
    const te = await loadBatch(cls.test, { size, masks: false });
    const cells: string[] = [];
    for (let scale = 0; scale < 3; scale++) {
      const all = feats(tr.images, tr.samples.length, scale);
      const vectors = all.data.length / all.c;
      const take = Math.min(4096, vectors);
      const bank = new Float32Array(take * all.c);
      for (let i = 0; i < take; i++) {
        const j = Math.floor(krand() * vectors);
        bank.set(all.data.subarray(j * all.c, (j + 1) * all.c), i * all.c);
      }
      const q = feats(te.images, te.samples.length, scale);
      const d = nearestDistances(bank, q.data, q.c, 1);
      const p = q.hw * q.hw;
      const scores = Float32Array.from({ length: te.samples.length }, (_, i) => Math.max(...d.subarray(i * p, (i + 1) * p)));
      const v = auroc(rankScores(scores, te.labels));
      means[scale] += v / index.classes.length;
      cells.push((100 * v).toFixed(1).padStart(8));
    }
    rows.push(`${cls.name.padEnd(14)} ${cells.join(' ')}`);
  }
  console.log(`\n[teacher kNN] class     scale 0  scale 1  scale 2   (I-AUROC %, max over locations)`);
  for (const r of rows) console.log(r);
  console.log(`${'mean'.padEnd(14)} ${means.map((v) => (100 * v).toFixed(1).padStart(8)).join(' ')}  (${secs()} s)`);
};
if (a.knn) await teacherKnn();

const evaluate = (label: string) => printEvaluationTable(model, index, label, { size, sigma: Number(a.sigma), nhwc, secs });

await evaluate('untrained student');
const trainer = new Trainer(model, { lr: Number(a.lr), seed });
const bs = Number(a.batch);
const steps = Number(a.steps);
for (let s = 0; s < steps; s++) {
  const x = nhwc(pick(bs), bs);
  const r = trainer.step(x);
  x.dispose();
  if ((s + 1) % 40 === 0) console.log(`student ${s + 1}/${steps} loss ${r.loss.toFixed(4)} (${secs()} s)`);
}
await evaluate('trained');
process.exit(0);

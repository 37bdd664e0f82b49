/**
 * The patch-kNN baseline: a no-learning anomaly detector on hand-made texture features, the
 * peer a fair benchmark compares a learned detector against.
 * - Every pixel of an image is described by Gaussian-derivative filter responses at a few
 *   scales (./gaussian-features.ts), computed at the data set's resolution.
 * - Per class, the features of a seeded random sample of training pixels are standardised and
 *   rotated onto their principal axes (./feature-space.ts); the memory bank is a greedy k-center
 *   coreset of that sample (./coreset.ts), as in PatchCore.
 * - A test pixel's score is the mean distance to its k nearest bank vectors (exact brute-force
 *   search, ./nearest-neighbours.ts); the map is blurred lightly and the image score is its maximum.
 * The default settings were frozen after tuning on the synthetic data set only (README.md).
 *
 *   npx tsx bench/baselines/patch-knn.ts --data ROOT [--size 64] [--classes a,b] [tuning flags, see --help]
 *
 * prints the machine, the settings, the per-class and mean metrics table and the time taken.
 *
 * @example
 * const model = patchKnnDetector(trainImages);           // RawImage[] (RGB, one size)
 * const { map, score } = model.score(testImage);         // map: size×size Float32Array
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRng, hashSeed, loadMask, loadRgb, readMvtec } from '../../packages/data/src/index.ts';
import type { RawImage, Rng } from '../../packages/data/src/index.ts';
import { buildBenchmarkTable, computeAllMetrics, tableToMarkdown } from '../../packages/metrics/src/index.ts';
import type { MetricSet } from '../../packages/metrics/src/index.ts';
import { machineLine } from '../machine.ts';
import { greedyCoreset } from './coreset.ts';
import { fitFeatureSpace } from './feature-space.ts';
import { gaussianFeatures, gaussianKernel, separable } from './gaussian-features.ts';
import type { FeatureGroup, FeatureOptions } from './gaussian-features.ts';
import { nearestDistances } from './nearest-neighbours.ts';

/** How the memory bank is chosen from the training pixels. */
export type BankSampler = 'coreset' | 'random';

/** Settings of the detector. The defaults are the ones frozen after tuning on the synthetic set. */
export interface PatchKnnOptions extends FeatureOptions {
  /** Axes kept after standardising and rotating the features (./feature-space.ts). Default 24 (all 18 of the default features). */
  dims?: number;
  /** Bank vectors per class. Default 4096. */
  bankSize?: number;
  /** 'coreset' (greedy k-center over `pool` random training pixels) or 'random' (the first `bankSize` of them). Default 'coreset'. */
  sampler?: BankSampler;
  /** Training pixels drawn at random as candidates for the bank. Default 20480. */
  pool?: number;
  /** Nearest neighbours whose distances are averaged. Default 1. */
  k?: number;
  /** σ of the Gaussian blur of the anomaly map, in pixels of a 64-px image (scaled with the size). Default 0.5. */
  mapSigma?: number;
  /** Seed of the pixel sample and the coreset's start. Default 0. */
  seed?: number;
}

/** The frozen settings (see README.md beside this file for how they were chosen). */
export const PATCH_KNN_DEFAULTS: Required<PatchKnnOptions> = {
  sigmas: [0.5, 1],
  groups: ['colour', 'jet'],
  dims: 24,
  bankSize: 4096,
  sampler: 'coreset',
  pool: 20480,
  k: 1,
  mapSigma: 0.5,
  seed: 0,
};

/** A fitted detector for one class. */
export interface PatchKnnModel {
  /** Features per pixel before the projection. */
  featureDim: number;
  /** Axes of the search space. */
  dims: number;
  /** Fraction of the standardised feature variance those axes hold. */
  explained: number;
  /** Vectors in the memory bank. */
  bankSize: number;
  /** The anomaly map (size×size, row-major) of an image of the training size, and its maximum. */
  score(image: RawImage): { map: Float32Array; score: number };
}

/** Fits the detector to one class's defect-free training images (RGB, all of one size). */
export function patchKnnDetector(train: readonly RawImage[], options: PatchKnnOptions = {}): PatchKnnModel {
  const o = checkOptions({ ...PATCH_KNN_DEFAULTS, ...options });
  if (train.length === 0) throw new RangeError('patchKnnDetector: no training images');
  const { width, height } = train[0];
  const features = train.map((img) => {
    if (img.width !== width || img.height !== height) {
      throw new RangeError(`patchKnnDetector: training images differ in size (${img.width}×${img.height} vs ${width}×${height})`);
    }
    return gaussianFeatures(img, o);
  });
  const featureDim = features[0].dim;
  const perImage = width * height;
  const total = perImage * train.length;
  const rng = createRng(hashSeed(o.seed, 'patch-knn'));
  const pool = samplePixels(total, Math.min(Math.max(o.pool, o.bankSize), total), rng);
  const raw = new Float32Array(pool.length * featureDim);
  pool.forEach((p, i) => {
    const at = (p % perImage) * featureDim;
    raw.set(features[Math.floor(p / perImage)].data.subarray(at, at + featureDim), i * featureDim);
  });
  const space = fitFeatureSpace(raw, featureDim, o.dims);
  const candidates = space.transform(raw);
  const dims = space.outDim;
  const bankSize = Math.min(o.bankSize, pool.length);
  const rows = o.sampler === 'coreset' ? greedyCoreset(candidates, dims, bankSize, rng) : Int32Array.from({ length: bankSize }, (_, i) => i);
  const bank = new Float32Array(bankSize * dims);
  rows.forEach((r, i) => bank.set(candidates.subarray(r * dims, r * dims + dims), i * dims));
  const blur = gaussianKernel(o.mapSigma * (width / 64), 0);

  return {
    featureDim,
    dims,
    explained: space.explained,
    bankSize,
    score(image: RawImage) {
      if (image.width !== width || image.height !== height) {
        throw new RangeError(`score: image is ${image.width}×${image.height}, the detector was fitted on ${width}×${height}`);
      }
      const distances = nearestDistances(bank, space.transform(gaussianFeatures(image, o).data), dims, o.k);
      const map = new Float32Array(perImage);
      separable(distances, map, new Float32Array(perImage), width, height, blur, blur);
      let max = -Infinity;
      for (const v of map) if (v > max) max = v;
      return { map, score: max };
    },
  };
}

/** The settings, or a RangeError naming the first invalid one. */
function checkOptions(o: Required<PatchKnnOptions>): Required<PatchKnnOptions> {
  const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
  const count = (v: number): boolean => Number.isInteger(v) && v >= 1;
  const bad = (name: string, v: unknown, want: string): never => {
    throw new RangeError(`patch-kNN: ${name} must be ${want}, got ${String(v)}`);
  };
  if (o.sigmas.length === 0 || !o.sigmas.every(positive)) bad('sigmas', o.sigmas, 'one or more scales > 0');
  if (o.groups.length === 0 || !o.groups.every((g) => g === 'colour' || g === 'jet' || g === 'energy')) bad('groups', o.groups, 'some of colour, jet, energy');
  if (!count(o.dims)) bad('dims', o.dims, 'an integer ≥ 1');
  if (!count(o.bankSize)) bad('bankSize', o.bankSize, 'an integer ≥ 1');
  if (!count(o.pool)) bad('pool', o.pool, 'an integer ≥ 1');
  if (o.sampler !== 'coreset' && o.sampler !== 'random') bad('sampler', o.sampler, "'coreset' or 'random'");
  if (!count(o.k) || o.k > o.bankSize) bad('k', o.k, `an integer in [1, bankSize ${o.bankSize}]`);
  if (!positive(o.mapSigma)) bad('mapSigma', o.mapSigma, 'a number > 0');
  if (!Number.isFinite(o.seed)) bad('seed', o.seed, 'a number');
  return o;
}

/** `count` distinct integers from [0, total) in random order (partial Fisher–Yates). */
function samplePixels(total: number, count: number, rng: Rng): Int32Array {
  const all = new Int32Array(total);
  for (let i = 0; i < total; i++) all[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng.next() * (total - i));
    const t = all[i];
    all[i] = all[j];
    all[j] = t;
  }
  return all.slice(0, count);
}

/** Result of evaluating the detector on one class. */
export interface ClassResult {
  name: string;
  metrics: MetricSet;
  trainImages: number;
  testImages: number;
  featureDim: number;
  dims: number;
  explained: number;
  /** Wall-clock seconds: loading the training images and fitting. */
  fitSeconds: number;
  /** Wall-clock seconds: loading, fitting and scoring. */
  seconds: number;
}

/** Evaluates the detector on every class of an MVTec-layout data set at `size`×`size`. */
export async function evaluatePatchKnn(
  root: string,
  options: PatchKnnOptions & { size?: number; classes?: readonly string[] } = {},
): Promise<ClassResult[]> {
  const size = options.size ?? 64;
  const index = await readMvtec(root, { classes: options.classes });
  const results: ClassResult[] = [];
  for (const cls of index.classes) {
    const started = performance.now();
    const train = await Promise.all(cls.train.map((s) => loadRgb(s.image, { size })));
    const model = patchKnnDetector(train, options);
    const fitSeconds = (performance.now() - started) / 1000;
    const n = cls.test.length;
    const maps = new Float32Array(n * size * size);
    const masks = new Uint8Array(n * size * size);
    const scores = new Float64Array(n);
    const labels = new Uint8Array(n);
    for (const [i, s] of cls.test.entries()) {
      const { map, score } = model.score(await loadRgb(s.image, { size }));
      maps.set(map, i * size * size);
      masks.set(await loadMask(s.mask, { size, threshold: s.maskThreshold }), i * size * size);
      scores[i] = score;
      labels[i] = s.label;
    }
    const { metrics } = computeAllMetrics({ scores, labels, maps, masks, shape: [n, size, size] });
    results.push({
      name: cls.name,
      metrics,
      trainImages: train.length,
      testImages: n,
      featureDim: model.featureDim,
      dims: model.dims,
      explained: model.explained,
      fitSeconds,
      seconds: (performance.now() - started) / 1000,
    });
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      size: { type: 'string', default: '64' },
      classes: { type: 'string' },
      sigmas: { type: 'string' },
      groups: { type: 'string' },
      dims: { type: 'string' },
      bank: { type: 'string' },
      sampler: { type: 'string' },
      pool: { type: 'string' },
      k: { type: 'string' },
      'map-sigma': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const d = PATCH_KNN_DEFAULTS;
  if (values.help || !values.data) {
    console.log(
      'usage: npx tsx bench/baselines/patch-knn.ts --data ROOT [--size 64] [--classes a,b]\n' +
        `  settings (defaults are the frozen ones): --sigmas ${d.sigmas.join(',')} --groups ${d.groups.join(',')} --dims ${d.dims} ` +
        `--bank ${d.bankSize} --sampler ${d.sampler} --pool ${d.pool} --k ${d.k} --map-sigma ${d.mapSigma} --seed ${d.seed}`,
    );
    process.exit(values.data ? 0 : 1);
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  const set: PatchKnnOptions = {
    sigmas: values.sigmas?.split(',').map(Number),
    groups: values.groups?.split(',') as FeatureGroup[] | undefined,
    dims: num(values.dims),
    bankSize: num(values.bank),
    sampler: values.sampler as BankSampler | undefined,
    pool: num(values.pool),
    k: num(values.k),
    mapSigma: num(values['map-sigma']),
    seed: num(values.seed),
  };
  const options = Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined)) as PatchKnnOptions;
  const o = { ...d, ...options };
  const size = Number(values.size);
  console.log(machineLine('plain JavaScript on one thread'));
  console.log(
    `patch-kNN on ${values.data} at ${size}²: sigmas ${o.sigmas.join(',')}, groups ${o.groups.join(',')}, dims ${o.dims}, ` +
      `bank ${o.bankSize} (${o.sampler} of ${o.pool}), k ${o.k}, map blur σ ${o.mapSigma}·size/64, seed ${o.seed}`,
  );
  const started = performance.now();
  const results = await evaluatePatchKnn(values.data, { ...options, size, classes: values.classes?.split(',').filter(Boolean) });
  const seconds = (performance.now() - started) / 1000;
  console.log('');
  console.log(tableToMarkdown(buildBenchmarkTable(results.map((r) => ({ name: r.name, metrics: r.metrics })))));
  for (const r of results) {
    console.log(
      `${r.name}: ${r.trainImages} train, ${r.testImages} test images; ${r.featureDim} features → ${r.dims} axes ` +
        `(${(100 * r.explained).toFixed(1)} % of the variance); fit ${r.fitSeconds.toFixed(1)} s, total ${r.seconds.toFixed(1)} s`,
    );
  }
  console.log(`total ${seconds.toFixed(1)} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    const e = err as Error & { code?: string };
    console.error(`error: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
    process.exit(1);
  });
}

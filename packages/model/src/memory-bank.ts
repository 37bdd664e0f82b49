/**
 * The memory-bank anomaly map: a location scores by the distance of its feature vector to the
 * nearest of a bank of vectors sampled from normal training images (PatchCore's scoring, on
 * pmamba's own teacher and student). Without pretrained weights a global Gaussian of the
 * student's residuals (residual-gaussian.ts) cannot describe textures whose normal appearance
 * is many-modal (bricks and joints, planks and seams); a nearest neighbour can.
 *
 * Where it reads (`scale`): the teacher's stem (stride 2: with the Gaussian stem, a jet of
 * Gaussian derivatives at σ 0.5, 1, 2) or one of its feature scales (stride 4, 8, 16). Features
 * per location: `teacher` = the teacher's vector as it is; `teacher+residual` = t/|t| beside the
 * student's residual t/|t| − s/|s| (feature scales only). With `inputScale` 2 the model sees
 * the image upsampled twice, so each stride samples the original twice as finely. With
 * `classBanks` a unified model keeps a bank per training class and routes each test image to one
 * (class-banks.ts).
 *
 * @example
 * const memoryBank = fitMemoryBank(model, images, n, size, { scale: 'stem', features: 'teacher', inputScale: 1, bankSize: 16384 });
 * const { maps, scores } = inferAnomalyMaps(model, testImages, m, size, { memoryBank });   // infer.ts
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps } from './model.ts';
import { mulberry32 } from './rng.ts';
import { matMul } from './ops/matmul.ts';
import { unitChannels } from './residual-gaussian.ts';
import { ClassBanksFit, routeImage, standardiseRows, type ClassBanks } from './class-banks.ts';
import { RowReservoir } from './row-reservoir.ts';

export const MEMORY_FEATURES = ['teacher', 'teacher+residual'] as const;
export type MemoryFeatures = (typeof MEMORY_FEATURES)[number];

/** Where the bank reads: the teacher's stem (stride 2) or one of its feature scales (0: stride 4, 1: 8, 2: 16). */
export type MemoryScale = 'stem' | number;

export interface MemoryBankSettings {
  scale: MemoryScale;
  features: MemoryFeatures;
  /** The model sees images resized by this factor (1 or 2). */
  inputScale: number;
  /** A bank per class of the fitted images, each test image scored against one (class-banks.ts). */
  classBanks: boolean;
}

export interface MemoryBank extends MemoryBankSettings {
  /** Vector width. */
  dim: number;
  /** The bank: rows of `dim` values. */
  vectors: Float32Array;
  /** Normal locations the bank was sampled from. */
  locations: number;
  /** With classBanks: the classes' parts of `vectors` and the router. */
  classes?: ClassBanks;
}

/** The model's maps of a batch that a map may read; each is present when the map needs it. */
export interface ModelMaps {
  teacher?: FeatureMaps;
  student?: FeatureMaps;
  /** The teacher's stem output (model.teacherStem). */
  stem?: tf.Tensor4D;
  /** The stem before its ReLU (model.teacherStem with relu false): what stem class banks read. */
  stemPreActivation?: tf.Tensor4D;
}

const STEM_HAS_NO_RESIDUAL = 'memory bank: the stem has no student counterpart; teacher+residual needs a feature scale 0–2';

type SourceSettings = Pick<MemoryBankSettings, 'scale' | 'features' | 'classBanks'>;

/** Stem class banks restandardise the stem per class, so they read it before its ReLU. */
const readsPreActivation = (settings: Pick<MemoryBankSettings, 'scale' | 'classBanks'>) => settings.scale === 'stem' && settings.classBanks;

/** Which of the model's maps a bank with these settings reads. */
export function memoryNeeds(settings: SourceSettings): { stem: boolean; stemPreActivation: boolean; teacher: boolean; student: boolean } {
  const residual = settings.features === 'teacher+residual';
  if (settings.scale === 'stem' && residual) throw new RangeError(STEM_HAS_NO_RESIDUAL);
  const pre = readsPreActivation(settings);
  return { stem: settings.scale === 'stem' && !pre, stemPreActivation: pre, teacher: settings.scale !== 'stem', student: residual };
}

/** The NHWC map a bank with these settings reads (the teacher's, at its scale or stem). */
export function memorySource(maps: ModelMaps, settings: Pick<MemoryBankSettings, 'scale' | 'classBanks'>): tf.Tensor4D {
  const { scale } = settings;
  if (readsPreActivation(settings)) {
    if (!maps.stemPreActivation) throw new RangeError('memory bank: the stem\'s pre-activation was not computed');
    return maps.stemPreActivation;
  }
  if (scale === 'stem') {
    if (!maps.stem) throw new RangeError('memory bank: the stem\'s features were not computed');
    return maps.stem;
  }
  if (!maps.teacher) throw new RangeError('memory bank: the teacher\'s features were not computed');
  if (scale >= maps.teacher.length) throw new RangeError(`memory bank: scale ${scale} does not exist; the model has ${maps.teacher.length} feature scales (0–${maps.teacher.length - 1})`);
  return maps.teacher[scale];
}

/** One scale's per-location feature rows, [N·H·W, dim] (for stem class banks, before the ReLU). */
export function memoryRows(maps: ModelMaps, settings: SourceSettings): tf.Tensor2D {
  const t = memorySource(maps, settings);
  return tf.tidy(() => {
    if (settings.features === 'teacher') return tf.reshape(t, [-1, t.shape[3]]) as tf.Tensor2D;
    if (typeof settings.scale !== 'number') throw new RangeError(STEM_HAS_NO_RESIDUAL);
    if (!maps.student) throw new RangeError('memory bank: teacher+residual features need the student\'s maps');
    const tu = unitChannels(t);
    return tf.reshape(tf.concat([tu, tf.sub(tu, unitChannels(maps.student[settings.scale]))], -1), [-1, 2 * t.shape[3]]) as tf.Tensor2D;
  });
}

/** Constructor options of MemoryBankFit: the settings (classBanks off unless asked), the bank's size per class, the sample's seed. */
export type MemoryBankFitOptions = Omit<MemoryBankSettings, 'classBanks'> & { classBanks?: boolean; bankSize: number; seed?: number };

/** The class name of images fitted without one, when class banks are asked for. */
const ONE_CLASS = 'all';

/**
 * Samples the bank batch by batch: a seeded uniform sample (reservoir) of `bankSize` of all
 * locations added (of each class's, with classBanks), so memory stays bounded however many
 * images are fitted.
 */
export class MemoryBankFit {
  readonly settings: MemoryBankSettings;
  private readonly bankSize: number;
  private readonly rand: () => number;
  private readonly perClass?: ClassBanksFit;
  private sample: RowReservoir | undefined;
  private dim = 0;

  constructor(opts: MemoryBankFitOptions) {
    if (!Number.isInteger(opts.bankSize) || opts.bankSize < 1) throw new RangeError(`memory bank: bankSize must be a positive integer, got ${opts.bankSize}`);
    if (opts.inputScale !== 1 && opts.inputScale !== 2) throw new RangeError(`memory bank: inputScale must be 1 or 2, got ${opts.inputScale}`);
    if (opts.scale !== 'stem' && !(Number.isInteger(opts.scale) && opts.scale >= 0)) throw new RangeError(`memory bank: scale must be 'stem' or a feature scale 0, 1, 2, got ${opts.scale}`);
    this.settings = { scale: opts.scale, features: opts.features, inputScale: opts.inputScale, classBanks: opts.classBanks ?? false };
    memoryNeeds(this.settings); // throws for settings no model can serve (the stem with a residual)
    this.bankSize = opts.bankSize;
    this.rand = mulberry32(opts.seed ?? 0);
    if (this.settings.classBanks) this.perClass = new ClassBanksFit({ bankSize: this.bankSize, rand: this.rand, standardise: readsPreActivation(this.settings) });
  }

  /** Adds one batch of normal images' maps (not disposed); `classes` names each image's class (class banks only). */
  add(maps: ModelMaps, classes?: readonly string[]): void {
    const images = memorySource(maps, this.settings).shape[0];
    const rows = memoryRows(maps, this.settings);
    const [count, dim] = rows.shape;
    const values = rows.dataSync() as Float32Array;
    rows.dispose();
    if (this.perClass) {
      this.perClass.add(values, dim, images, classes ?? new Array<string>(images).fill(ONE_CLASS));
      return;
    }
    this.dim = dim;
    this.sample ??= new RowReservoir(this.bankSize, dim, this.rand);
    for (let i = 0; i < count; i++) this.sample.offer(values.subarray(i * dim, (i + 1) * dim));
  }

  /** The bank; throws when nothing was added. */
  finish(): MemoryBank {
    if (this.perClass) return { ...this.settings, ...this.perClass.finish() };
    if (!this.sample || this.sample.seen === 0) throw new RangeError('memory bank: no images were added to the fit');
    return { ...this.settings, dim: this.dim, vectors: this.sample.rows().slice(), locations: this.sample.seen };
  }
}

/** Bank rows compared per matMul: bounds the distance block at queries × this. */
const BANK_CHUNK = 4096;

/**
 * Each location's Euclidean distance to its nearest bank vector → N·H·W values, at the H×W of the
 * bank's source map. With class banks, each image's to the nearest vector of the class it is
 * routed to.
 */
export function memoryDistance(maps: ModelMaps, bank: MemoryBank): Float32Array {
  const rows = memoryRows(maps, bank);
  if (rows.shape[1] !== bank.dim) {
    rows.dispose();
    throw new RangeError(`memory bank: the model's ${bank.scale === 'stem' ? 'stem' : `scale-${bank.scale}`} features have ${rows.shape[1]} values, the bank ${bank.dim}`);
  }
  try {
    if (!bank.classes) return nearestDistances(rows, bank.vectors, bank.dim);
    return classBankDistances(rows, memorySource(maps, bank).shape[0], bank.dim, bank.vectors, bank.classes);
  } finally {
    rows.dispose();
  }
}

/**
 * memoryDistance with class banks: each image routed, standardised for its class on the stem, and
 * the images of one class scored together (preparing a bank's chunks costs as much as a few
 * images' products).
 */
function classBankDistances(rows: tf.Tensor2D, images: number, dim: number, vectors: Float32Array, classes: ClassBanks): Float32Array {
  const values = rows.dataSync() as Float32Array;
  const per = values.length / images;
  let first = 0;
  const start = classes.rows.map((r) => (first += r) - r);
  const routed = Array.from({ length: images }, (_, i) => routeImage(classes, values.subarray(i * per, (i + 1) * per), dim));
  const out = new Float32Array(values.length / dim);
  for (const c of new Set(routed)) {
    const members = routed.flatMap((r, i) => (r === c ? [i] : []));
    const own = new Float32Array(members.length * per);
    members.forEach((i, k) => own.set(values.subarray(i * per, (i + 1) * per), k * per));
    if (classes.norm) standardiseRows(own, dim, classes.norm.mean.subarray(c * dim, (c + 1) * dim), classes.norm.sd.subarray(c * dim, (c + 1) * dim));
    const q = tf.tensor2d(own, [own.length / dim, dim]);
    const d = nearestDistances(q, vectors.subarray(start[c] * dim, (start[c] + classes.rows[c]) * dim), dim);
    q.dispose();
    members.forEach((i, k) => out.set(d.subarray((k * per) / dim, ((k + 1) * per) / dim), (i * per) / dim));
  }
  return out;
}

/**
 * Each row's Euclidean distance to its nearest of `vectors` (rows of `dim`). In one matMul per
 * chunk of the bank: [q, 1]·[−2b, |b|²]ᵀ = |b|² − 2 q·b, whose row minimum plus |q|² is the
 * squared distance (the elementwise passes over the N × chunk block cost more than the matMul).
 */
function nearestDistances(rows: tf.Tensor2D, vectors: Float32Array, dim: number): Float32Array {
  const count = vectors.length / dim;
  const queries = tf.tidy(() => tf.concat([rows, tf.ones([rows.shape[0], 1])], 1));
  let best: tf.Tensor1D | undefined;
  for (let at = 0; at < count; at += BANK_CHUNK) {
    const m = Math.min(BANK_CHUNK, count - at);
    const next = tf.tidy(() => {
      const b = tf.tensor2d(vectors.subarray(at * dim, (at + m) * dim), [m, dim]);
      const keys = tf.concat([tf.mul(b, -2), tf.sum(tf.square(b), 1, true)], 1);
      // ops/matmul.ts transposes explicitly: tfjs-wasm's transposeB product measured 10× slower here.
      const chunkMin = tf.min(matMul(queries, keys, false, true), 1) as tf.Tensor1D;
      return best ? (tf.minimum(best, chunkMin) as tf.Tensor1D) : chunkMin;
    });
    best?.dispose();
    best = next;
  }
  const out = tf.tidy(() => tf.sqrt(tf.relu(tf.add(best!, tf.sum(tf.square(rows), 1)))));
  tf.dispose([queries, best!]);
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

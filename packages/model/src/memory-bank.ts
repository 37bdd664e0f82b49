/**
 * The memory-bank anomaly map: a location scores by the distance of its feature vector to the
 * nearest of a bank of vectors sampled from normal training images (PatchCore's scoring, on
 * pmamba's own teacher and student). Without pretrained weights a global Gaussian of the
 * student's residuals (residual-gaussian.ts) cannot describe textures whose normal appearance
 * is many-modal (bricks and joints, planks and seams); a nearest neighbour can.
 *
 * Features per location at one scale: `teacher` = the teacher's feature vector as it is;
 * `teacher+residual` = t/|t| beside the student's residual t/|t| − s/|s|. With `inputScale` 2
 * the model sees the image upsampled twice: the stride-4 scale then samples every second pixel
 * of the original, where a defect of a few pixels is not averaged away.
 *
 * @example
 * const fit = new MemoryBankFit({ scale: 0, features: 'teacher', inputScale: 2, bankSize: 8192, seed: 0 });
 * addToMemoryBank(fit, model, images, n, size);      // infer.ts: forward passes at inputScale
 * const memoryBank = fit.finish();
 * const { maps, scores } = inferAnomalyMaps(model, testImages, m, size, { memoryBank });
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps } from './model.ts';
import { mulberry32 } from './rng.ts';
import { matMul } from './ops/matmul.ts';
import { unitChannels } from './residual-gaussian.ts';

export const MEMORY_FEATURES = ['teacher', 'teacher+residual'] as const;
export type MemoryFeatures = (typeof MEMORY_FEATURES)[number];

export interface MemoryBankSettings {
  /** Feature scale: 0 is the teacher's first (stride 4) map. */
  scale: number;
  features: MemoryFeatures;
  /** The model sees images resized by this factor (1 or 2). */
  inputScale: number;
}

export interface MemoryBank extends MemoryBankSettings {
  /** Vector width. */
  dim: number;
  /** The bank: rows of `dim` values. */
  vectors: Float32Array;
  /** Normal locations the bank was sampled from. */
  locations: number;
}

/** One scale's per-location feature rows, [N·H·W, dim]. */
export function memoryRows(teacher: FeatureMaps, student: FeatureMaps | undefined, settings: Pick<MemoryBankSettings, 'scale' | 'features'>): tf.Tensor2D {
  const { scale } = settings;
  if (scale >= teacher.length) throw new RangeError(`memory bank: scale ${scale} does not exist; the model has ${teacher.length} feature scales (0–${teacher.length - 1})`);
  return tf.tidy(() => {
    const t = teacher[scale];
    if (settings.features === 'teacher') return tf.reshape(t, [-1, t.shape[3]]) as tf.Tensor2D;
    if (!student) throw new RangeError('memory bank: teacher+residual features need the student\'s maps');
    const tu = unitChannels(t);
    return tf.reshape(tf.concat([tu, tf.sub(tu, unitChannels(student[scale]))], -1), [-1, 2 * t.shape[3]]) as tf.Tensor2D;
  });
}

/**
 * Samples the bank batch by batch: a seeded uniform sample (reservoir) of `bankSize` of all
 * locations added, so memory stays bounded however many images are fitted.
 */
export class MemoryBankFit {
  readonly settings: MemoryBankSettings;
  private readonly bankSize: number;
  private readonly rand: () => number;
  private vectors: Float32Array | undefined;
  private dim = 0;
  private seen = 0;

  constructor(opts: MemoryBankSettings & { bankSize: number; seed?: number }) {
    if (!Number.isInteger(opts.bankSize) || opts.bankSize < 1) throw new RangeError(`memory bank: bankSize must be a positive integer, got ${opts.bankSize}`);
    if (opts.inputScale !== 1 && opts.inputScale !== 2) throw new RangeError(`memory bank: inputScale must be 1 or 2, got ${opts.inputScale}`);
    this.settings = { scale: opts.scale, features: opts.features, inputScale: opts.inputScale };
    this.bankSize = opts.bankSize;
    this.rand = mulberry32(opts.seed ?? 0);
  }

  /** Adds one batch of normal images' teacher and student maps (not disposed). */
  add(teacher: FeatureMaps, student: FeatureMaps | undefined): void {
    const rows = memoryRows(teacher, student, this.settings);
    const [count, dim] = rows.shape;
    const values = rows.dataSync() as Float32Array;
    rows.dispose();
    if (!this.vectors) {
      this.dim = dim;
      this.vectors = new Float32Array(this.bankSize * dim);
    }
    for (let i = 0; i < count; i++) {
      // Algorithm R: row number `seen` replaces a random slot with probability bankSize / (seen + 1).
      const slot = this.seen < this.bankSize ? this.seen : Math.floor(this.rand() * (this.seen + 1));
      if (slot < this.bankSize) this.vectors.set(values.subarray(i * dim, (i + 1) * dim), slot * dim);
      this.seen++;
    }
  }

  /** The bank; throws when nothing was added. */
  finish(): MemoryBank {
    if (!this.vectors || this.seen === 0) throw new RangeError('memory bank: no images were added to the fit');
    const rows = Math.min(this.seen, this.bankSize);
    return { ...this.settings, dim: this.dim, vectors: this.vectors.slice(0, rows * this.dim), locations: this.seen };
  }
}

/** Bank rows compared per matMul: bounds the distance block at queries × this. */
const BANK_CHUNK = 4096;

/**
 * Each location's Euclidean distance to its nearest bank vector → N·H·W values. In one matMul
 * per chunk of the bank: [q, 1]·[−2b, |b|²]ᵀ = |b|² − 2 q·b, whose row minimum plus |q|² is the
 * squared distance (the elementwise passes over the N × chunk block cost more than the matMul).
 */
export function memoryDistance(teacher: FeatureMaps, student: FeatureMaps | undefined, bank: MemoryBank): Float32Array {
  const rows = memoryRows(teacher, student, bank);
  if (rows.shape[1] !== bank.dim) {
    rows.dispose();
    throw new RangeError(`memory bank: the model's scale-${bank.scale} features have ${rows.shape[1]} values, the bank ${bank.dim}`);
  }
  const count = bank.vectors.length / bank.dim;
  const queries = tf.tidy(() => tf.concat([rows, tf.ones([rows.shape[0], 1])], 1));
  let best: tf.Tensor1D | undefined;
  for (let at = 0; at < count; at += BANK_CHUNK) {
    const m = Math.min(BANK_CHUNK, count - at);
    const next = tf.tidy(() => {
      const b = tf.tensor2d(bank.vectors.subarray(at * bank.dim, (at + m) * bank.dim), [m, bank.dim]);
      const keys = tf.concat([tf.mul(b, -2), tf.sum(tf.square(b), 1, true)], 1);
      // ops/matmul.ts transposes explicitly: tfjs-wasm's transposeB product measured 10× slower here.
      const chunkMin = tf.min(matMul(queries, keys, false, true), 1) as tf.Tensor1D;
      return best ? (tf.minimum(best, chunkMin) as tf.Tensor1D) : chunkMin;
    });
    best?.dispose();
    best = next;
  }
  const out = tf.tidy(() => tf.sqrt(tf.relu(tf.add(best!, tf.sum(tf.square(rows), 1)))));
  tf.dispose([rows, queries, best!]);
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

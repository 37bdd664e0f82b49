import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps } from './model.ts';
import { residualGaussianDistance, type ResidualGaussian } from './residual-gaussian.ts';
import { memoryDistance, memorySource, type MemoryBank, type ModelMaps } from './memory-bank.ts';

export interface AnomalyMapOptions {
  /** Output side (the image size). */
  size: number;
  /** Gaussian σ; 0 disables the blur. Default 4. */
  sigma?: number;
  /**
   * `mean` (default): mean over scales. `official`: the public evaluator's scale (sum / 9,
   * i.e. mean / 3) — same rankings and metrics, different absolute values.
   */
  scale?: 'mean' | 'official';
  /**
   * The image score: the map's max (default, the paper's), or the mean of its `topFraction`
   * highest pixels (less swayed by one noisy pixel; the same as max when it covers one pixel).
   */
  topFraction?: number;
  /**
   * Score each location by its residual's Mahalanobis distance under these Gaussians
   * (residual-gaussian.ts), on the scales they were fitted on, instead of by 1 − cosine on every scale.
   */
  residualGaussian?: ResidualGaussian;
  /**
   * Score each location by its distance to the nearest vector of this bank (memory-bank.ts), on
   * the bank's scale, instead of by 1 − cosine on every scale.
   */
  memoryBank?: MemoryBank;
}

/** Per-pixel anomaly maps (N×size×size, float64 math, float32 out) and image scores. */
export interface AnomalyMaps {
  maps: Float32Array;
  scores: Float32Array;
  n: number;
  size: number;
}

/**
 * 1 − cosine similarity over channels per scale (or the residual-Gaussian distance on its
 * scales, or the memory bank's nearest-neighbour distance on the map it reads), bilinearly upsampled
 * (align_corners) to the image size, averaged over scales, blurred with a Gaussian (scipy's
 * gaussian_filter: truncate 4, mode reflect); the image score is the map's max, or the mean of
 * its top fraction.
 */
export function anomalyMaps(features: ModelMaps, opts: AnomalyMapOptions): AnomalyMaps {
  const { size } = opts;
  const sigma = opts.sigma ?? 4;
  const rg = opts.residualGaussian;
  const bank = opts.memoryBank;
  if (rg && bank) throw new RangeError('anomaly map: give a residual Gaussian or a memory bank, not both');
  // The caller computes only what the map reads (infer.ts): a memory bank of teacher features
  // needs no student, a stem bank not even the teacher's scales.
  const teacher = (): FeatureMaps => {
    if (!features.teacher) throw new RangeError('anomaly map: this map needs the teacher\'s feature maps');
    return features.teacher;
  };
  const student = (): FeatureMaps => {
    if (!features.student) throw new RangeError('anomaly map: this map needs the student\'s feature maps');
    return features.student;
  };
  /** Each scored map's distances (N·h·w) and its side. */
  const scored: { d: Float32Array; h: number; w: number }[] = [];
  if (bank) {
    const [, h, w] = memorySource(features, bank).shape;
    scored.push({ d: memoryDistance(features, bank), h, w });
  } else {
    const scales = rg ? rg.gaussians.map((g) => g.scale) : teacher().map((_, s) => s);
    scales.forEach((s, k) => {
      if (s >= teacher().length) throw new RangeError(`anomaly map: the fitted map uses scale ${s}; the model has ${teacher().length} feature scales`);
      const [, h, w] = teacher()[s].shape;
      const d = rg ? residualGaussianDistance(teacher()[s], student()[s], rg.gaussians[k]) : cosineDistance(teacher()[s], student()[s]);
      scored.push({ d, h, w });
    });
  }
  const n = scored[0].d.length / (scored[0].h * scored[0].w);
  const acc = new Float64Array(n * size * size);
  for (const { d, h, w } of scored) {
    for (let i = 0; i < n; i++) {
      upsampleAlignCornersInto(d.subarray(i * h * w, (i + 1) * h * w), h, w, size, acc.subarray(i * size * size, (i + 1) * size * size));
    }
  }
  const div = opts.scale === 'official' ? scored.length * scored.length : scored.length;
  for (let i = 0; i < acc.length; i++) acc[i] /= div;
  const maps = new Float32Array(acc.length);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const img = acc.subarray(i * size * size, (i + 1) * size * size);
    const blurred = sigma > 0 ? gaussianFilter(img, size, size, sigma) : img;
    maps.set(blurred, i * size * size);
    scores[i] = imageScore(maps.subarray(i * size * size, (i + 1) * size * size), opts.topFraction);
  }
  return { maps, scores, n, size };
}

/** Max of a map, or the mean of its `topFraction` highest values (at least one). */
export function imageScore(map: Float32Array, topFraction?: number): number {
  const k = topFraction === undefined ? 1 : Math.max(1, Math.round(map.length * topFraction));
  if (k === 1) {
    let max = -Infinity;
    for (const v of map) if (v > max) max = v;
    return max;
  }
  const top = Float32Array.from(map).sort().subarray(map.length - k);
  let sum = 0;
  for (const v of top) sum += v;
  return sum / k;
}

/** 1 − cos(t, s) over the channel axis of NHWC maps → N·H·W values (torch eps 1e-8). */
export function cosineDistance(t: tf.Tensor4D, s: tf.Tensor4D): Float32Array {
  const out = tf.tidy(() => {
    const dot = tf.sum(tf.mul(t, s), -1);
    const nt = tf.sum(tf.square(t), -1);
    const ns = tf.sum(tf.square(s), -1);
    return tf.sub(1, tf.div(dot, tf.maximum(tf.sqrt(tf.mul(nt, ns)), 1e-8)));
  });
  const v = out.dataSync() as Float32Array;
  out.dispose();
  return v;
}

/** Bilinear upsampling with align_corners = true, added into `out` (size × size). */
export function upsampleAlignCornersInto(src: ArrayLike<number>, h: number, w: number, size: number, out: Float64Array): void {
  const sy = size > 1 ? (h - 1) / (size - 1) : 0;
  const sx = size > 1 ? (w - 1) / (size - 1) : 0;
  for (let y = 0; y < size; y++) {
    const fy = y * sy;
    const y0 = Math.min(Math.floor(fy), h - 1);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = x * sx;
      const x0 = Math.min(Math.floor(fx), w - 1);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      const top = src[y0 * w + x0] * (1 - wx) + src[y0 * w + x1] * wx;
      const bot = src[y1 * w + x0] * (1 - wx) + src[y1 * w + x1] * wx;
      out[y * size + x] += top * (1 - wy) + bot * wy;
    }
  }
}

/** Normalised 1-D Gaussian weights with scipy's radius int(truncate·σ + 0.5). */
export function gaussianKernel(sigma: number, truncate = 4): Float64Array {
  const r = Math.floor(truncate * sigma + 0.5);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** scipy 'reflect' (half-sample symmetric: d c b a | a b c d | d c b a) index. */
function reflect(i: number, n: number): number {
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  return j < n ? j : period - 1 - j;
}

/** scipy.ndimage.gaussian_filter(img, sigma, mode='reflect', truncate=4) on an h×w image. */
export function gaussianFilter(img: ArrayLike<number>, h: number, w: number, sigma: number, truncate = 4): Float64Array {
  const k = gaussianKernel(sigma, truncate);
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  const rowIdx = Int32Array.from({ length: h + 2 * r }, (_, i) => reflect(i - r, h));
  const colIdx = Int32Array.from({ length: w + 2 * r }, (_, i) => reflect(i - r, w));
  // scipy filters axis 0 first, then axis 1.
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += k[j] * img[rowIdx[y + j] * w + x];
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = 0; j < k.length; j++) s += k[j] * tmp[y * w + colIdx[x + j]];
      out[y * w + x] = s;
    }
  }
  return out;
}

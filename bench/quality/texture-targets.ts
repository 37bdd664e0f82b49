/**
 * Distillation targets for the texture teacher (texture-teacher.ts): the hand-made texture
 * features of bench/baselines/gaussian-features.ts (default σ 1, 2, 4; colour, jet, energy: 42
 * per pixel) of every training image at the input resolution, each dimension standardised over
 * all pixels of the training set, then average-pooled to each encoder stage's side.
 *
 * @example
 * const t = textureTargets(train.images, n, 64, [16, 8, 4]);
 * t.stages[0]; // n×16×16×42 floats (NHWC), t.dim === 42
 */
import { IMAGENET_MEAN, IMAGENET_STD } from '../../packages/data/src/image.ts';
import { gaussianFeatures } from '../baselines/gaussian-features.ts';
import type { FeatureOptions } from '../baselines/gaussian-features.ts';

export interface TextureTargets {
  /** Features per location. */
  dim: number;
  /** Per stage, n×side×side×dim (NHWC), in the order of `sides`. */
  stages: Float32Array[];
  sides: number[];
  /** Per dimension, mean and standard deviation over the training pixels (input resolution). */
  mean: Float64Array;
  std: Float64Array;
}

/**
 * `images`: n×3×size×size CHW ImageNet-normalised (as loadBatch returns them). `restandardise`:
 * also rescale each pooled stage's dims to unit variance (pooling shrinks the variance of the
 * fine, phase-sensitive responses towards zero at the coarse stages).
 */
export function textureTargets(
  images: Float32Array,
  n: number,
  size: number,
  sides: number[],
  options: FeatureOptions & { restandardise?: boolean } = {},
): TextureTargets {
  const plane = size * size;
  const rgb = new Uint8Array(plane * 3);
  const pooled: Float32Array[] = [];
  let dim = 0;
  let sum = new Float64Array(0);
  let sq = new Float64Array(0);
  const finest = sides[0];
  const f0 = size / finest;
  for (let i = 0; i < n; i++) {
    const base = i * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        rgb[3 * p + c] = Math.round((images[base + c * plane + p] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255);
      }
    }
    const f = gaussianFeatures({ data: rgb, width: size, height: size, channels: 3 }, options);
    if (i === 0) {
      dim = f.dim;
      sum = new Float64Array(dim);
      sq = new Float64Array(dim);
    }
    for (let p = 0; p < plane; p++) {
      for (let d = 0; d < dim; d++) {
        const v = f.data[p * dim + d];
        sum[d] += v;
        sq[d] += v * v;
      }
    }
    // Pool to the finest stage side now (keeps memory at n·side²·dim).
    const out = new Float32Array(finest * finest * dim);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = (Math.floor(y / f0) * finest + Math.floor(x / f0)) * dim;
        const s = (y * size + x) * dim;
        for (let d = 0; d < dim; d++) out[o + d] += f.data[s + d] / (f0 * f0);
      }
    }
    pooled.push(out);
  }
  const total = n * plane;
  const mean = sum.map((s) => s / total);
  const std = sq.map((s, d) => Math.sqrt(Math.max(1e-12, s / total - mean[d] * mean[d])));
  const stages = sides.map((side) => {
    const k = finest / side;
    const all = new Float32Array(n * side * side * dim);
    for (let i = 0; i < n; i++) {
      const src = pooled[i];
      const at = i * side * side * dim;
      for (let y = 0; y < finest; y++) {
        for (let x = 0; x < finest; x++) {
          const o = at + (Math.floor(y / k) * side + Math.floor(x / k)) * dim;
          const s = (y * finest + x) * dim;
          for (let d = 0; d < dim; d++) all[o + d] += (src[s + d] - mean[d]) / std[d] / (k * k);
        }
      }
    }
    if (options.restandardise) {
      const m = new Float64Array(dim);
      const v = new Float64Array(dim);
      const cnt = n * side * side;
      for (let j = 0; j < cnt; j++) for (let d = 0; d < dim; d++) m[d] += all[j * dim + d] / cnt;
      for (let j = 0; j < cnt; j++) for (let d = 0; d < dim; d++) v[d] += (all[j * dim + d] - m[d]) ** 2 / cnt;
      for (let j = 0; j < cnt; j++) for (let d = 0; d < dim; d++) all[j * dim + d] = (all[j * dim + d] - m[d]) / Math.sqrt(v[d] + 1e-12);
    }
    return all;
  });
  return { dim, stages, sides, mean, std };
}

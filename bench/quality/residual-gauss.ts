/**
 * Experiment: score the student's residual by its Mahalanobis distance under a Gaussian fitted to
 * the residuals of normal images, per scale, instead of by its length (the cosine map).
 * The residual at a location is t/|t| − s/|s| (its squared length is twice the cosine distance);
 * where normal texture is always reconstructed badly in the same directions, the fit learns to
 * discount them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PyramidMamba } from '@pmamba/model';
import { gaussianFilter, upsampleAlignCornersInto } from '../../packages/model/src/anomaly-map.ts';

/** Per scale: residual mean and the inverse of its shrunk covariance. */
export interface ResidualGauss {
  mean: Float64Array[];
  precision: Float64Array[];
  channels: number[];
  /** Mean Mahalanobis distance of the fitted residuals per scale (the scale's normaliser). */
  typical: number[];
}

type Nhwc = (x: Float32Array, k: number) => tf.Tensor4D;

/** Unit-normalised residuals of every location, per scale: [scale] → rows of C floats. */
function residuals(model: PyramidMamba, x: tf.Tensor4D): { data: Float32Array; c: number; h: number; w: number }[] {
  const { teacher, student } = model.forward(x);
  const out = teacher.map((t, i) => {
    const r = tf.tidy(() => {
      const s = student[i];
      const tn = tf.div(t, tf.maximum(tf.norm(t, 'euclidean', -1, true), 1e-8));
      const sn = tf.div(s, tf.maximum(tf.norm(s, 'euclidean', -1, true), 1e-8));
      return tf.sub(tn, sn);
    });
    const data = r.dataSync() as Float32Array;
    r.dispose();
    return { data, c: t.shape[3], h: t.shape[1], w: t.shape[2] };
  });
  tf.dispose([teacher, student]);
  return out;
}

/** In-place Cholesky inverse of a symmetric positive definite c×c matrix. */
function invertSpd(a: Float64Array, c: number): Float64Array {
  const l = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * c + j];
      for (let k = 0; k < j; k++) s -= l[i * c + k] * l[j * c + k];
      l[i * c + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * c + j];
    }
  }
  // inverse of L, then Lᵀ⁻¹ L⁻¹
  const li = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    li[i * c + i] = 1 / l[i * c + i];
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * c + k] * li[k * c + j];
      li[i * c + j] = s / l[i * c + i];
    }
  }
  const inv = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < c; k++) s += li[k * c + i] * li[k * c + j];
      inv[i * c + j] = s;
      inv[j * c + i] = s;
    }
  }
  return inv;
}

function mahalanobis(row: Float32Array, at: number, mean: Float64Array, p: Float64Array, c: number, d: Float64Array): number {
  for (let k = 0; k < c; k++) d[k] = row[at + k] - mean[k];
  let s = 0;
  for (let i = 0; i < c; i++) {
    let v = 0;
    for (let j = 0; j < c; j++) v += p[i * c + j] * d[j];
    s += d[i] * v;
  }
  return s;
}

/** Fits the per-scale residual Gaussians on `n` normal images (N×3×S×S CHW floats). */
export function fitResidualGauss(model: PyramidMamba, images: Float32Array, n: number, size: number, nhwc: Nhwc, shrink = 0.01): ResidualGauss {
  const per = 3 * size * size;
  let sums: Float64Array[] = [];
  let outer: Float64Array[] = [];
  let counts: number[] = [];
  let channels: number[] = [];
  const kept: { data: Float32Array; c: number }[][] = [];
  for (let at = 0; at < n; at += 8) {
    const k = Math.min(8, n - at);
    const x = nhwc(images.slice(at * per, (at + k) * per), k);
    const rs = residuals(model, x);
    x.dispose();
    if (channels.length === 0) {
      channels = rs.map((r) => r.c);
      sums = channels.map((c) => new Float64Array(c));
      outer = channels.map((c) => new Float64Array(c * c));
      counts = channels.map(() => 0);
    }
    rs.forEach((r, si) => {
      const c = r.c;
      const rows = r.data.length / c;
      for (let q = 0; q < rows; q++) {
        const o = q * c;
        for (let i = 0; i < c; i++) {
          const vi = r.data[o + i];
          sums[si][i] += vi;
          for (let j = 0; j <= i; j++) outer[si][i * c + j] += vi * r.data[o + j];
        }
      }
      counts[si] += rows;
    });
    kept.push(rs);
  }
  const mean = channels.map((c, si) => sums[si].map((v) => v / counts[si]));
  const precision = channels.map((c, si) => {
    const cov = new Float64Array(c * c);
    let trace = 0;
    for (let i = 0; i < c; i++) {
      for (let j = 0; j <= i; j++) {
        const v = outer[si][i * c + j] / counts[si] - mean[si][i] * mean[si][j];
        cov[i * c + j] = v;
        cov[j * c + i] = v;
      }
      trace += cov[i * c + i];
    }
    const eps = (shrink * trace) / c;
    for (let i = 0; i < c; i++) cov[i * c + i] += eps;
    return invertSpd(cov, c);
  });
  const typical = channels.map((c, si) => {
    const d = new Float64Array(c);
    let s = 0;
    let m = 0;
    for (const rs of kept) {
      const r = rs[si];
      for (let at = 0; at < r.data.length; at += c) {
        s += mahalanobis(r.data, at, mean[si], precision[si], c, d);
        m++;
      }
    }
    return s / m;
  });
  return { mean, precision, channels, typical };
}

/** Maps and image scores (max) of `n` images under the fitted Gaussians; also each scale's image maxima. */
export function residualGaussScores(
  model: PyramidMamba, fit: ResidualGauss, images: Float32Array, n: number, size: number, nhwc: Nhwc, sigma: number,
  scales: readonly number[] = fit.channels.map((_, i) => i),
): { scores: Float32Array; maps: Float32Array; perScale: Float32Array[] } {
  const per = 3 * size * size;
  const plane = size * size;
  const maps = new Float32Array(n * plane);
  const scores = new Float32Array(n);
  const perScale = fit.channels.map(() => new Float32Array(n));
  for (let at = 0; at < n; at += 8) {
    const k = Math.min(8, n - at);
    const x = nhwc(images.slice(at * per, (at + k) * per), k);
    const rs = residuals(model, x);
    x.dispose();
    const acc = new Float64Array(k * plane);
    rs.forEach((r, si) => {
      const { c, h, w } = r;
      const d = new Float64Array(c);
      for (let i = 0; i < k; i++) {
        const m = new Float64Array(h * w);
        for (let q = 0; q < h * w; q++) m[q] = Math.sqrt(mahalanobis(r.data, (i * h * w + q) * c, fit.mean[si], fit.precision[si], c, d) / fit.typical[si]);
        perScale[si][at + i] = Math.max(...m);
        if (scales.includes(si)) upsampleAlignCornersInto(m, h, w, size, acc.subarray(i * plane, (i + 1) * plane));
      }
    });
    for (let i = 0; i < k; i++) {
      const img = acc.subarray(i * plane, (i + 1) * plane);
      const b = sigma > 0 ? gaussianFilter(img, size, size, sigma) : img;
      let mx = -Infinity;
      for (let q = 0; q < plane; q++) {
        maps[(at + i) * plane + q] = b[q] / scales.length;
        if (b[q] > mx) mx = b[q];
      }
      scores[at + i] = mx;
    }
  }
  return { scores, maps, perScale };
}

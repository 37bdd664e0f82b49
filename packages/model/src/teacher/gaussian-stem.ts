/**
 * A teacher stem of Gaussian-derivative filters: without pretrained weights, the encoder's first
 * 7×7 convolution is set to the classic hand-made description of local image structure (the
 * "jet": smoothed intensity and its first and second derivatives, plus the smoothed colour
 * opponents and their gradients) at a few scales, in place of random filters. The deeper stages
 * stay random. Each filter is written with both signs, so the ReLU after the stem keeps both
 * polarities (a dark crack and a light scratch excite different channels).
 *
 * Why: a random 7×7 stem mixes colour and structure arbitrarily, and at 64² most of its channels
 * see noise; these filters make every stem channel a stable texture measurement. Measured with the
 * quickstart student recipe (docs/results.md): mean I-AUROC on the real-texture set 73.5 → 82.4
 * (three seeds); on a held-out set of other photographs no better at image level.
 *
 * @example
 * const model = new PyramidMamba(presetConfig('small'), seed);
 * gaussianStem(model);                 // before BatchNorm calibration
 * calibrateEncoder(model, images, n, size);
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PyramidMamba } from '../model.ts';

/** Scales (σ, pixels of the model's input) of the stem's filters. */
export const GAUSSIAN_STEM_SIGMAS: readonly number[] = [0.5, 1, 2];

/** The teacher's stem convolution in the state dict. */
const STEM = 'net_t.conv1.weight';

type Order = 0 | 1 | 2;

/** σ-normalised 1-D Gaussian derivative of `order`, sampled on `k` taps (order 0 sums to 1, order 1 to 0). */
export function gaussianTaps(sigma: number, order: Order, k: number): Float64Array {
  const r = (k - 1) / 2;
  const g = Float64Array.from({ length: k }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = g.reduce((a, b) => a + b, 0);
  const n = g.map((v) => v / sum);
  if (order === 0) return n;
  if (order === 1) return n.map((v, i) => (-(i - r) / sigma) * v);
  // Sampled at σ 0.5 the second derivative keeps a DC part (its taps sum to −0.15), which makes it
  // a centre–surround filter. Kept: removing it measured worse, 78.9 against 82.4 mean I-AUROC on
  // the real-texture set over seeds 7–9 (docs/results.md).
  return n.map((v, i) => (((i - r) ** 2 - sigma * sigma) / (sigma * sigma)) * v);
}

/**
 * The filter bank as [k, k, 3, count] (tfjs layout), in order: for each σ, the intensity jet
 * (G, Gx, Gy, Gxx, Gxy, Gyy) then the two colour opponents' (G, Gx, Gy); each filter then its
 * negative. The input is the ImageNet-normalised RGB the teacher sees.
 */
export function gaussianFilterBank(k: number, sigmas: readonly number[] = GAUSSIAN_STEM_SIGMAS): { weights: Float32Array; count: number } {
  const colours = [
    [1, 1, 1].map((c) => c / Math.sqrt(3)), // intensity
    [1, -1, 0].map((c) => c / Math.SQRT2), // red–green
    [1, 1, -2].map((c) => c / Math.sqrt(6)), // yellow–blue
  ];
  const jet: [Order, Order][] = [[0, 0], [1, 0], [0, 1], [2, 0], [1, 1], [0, 2]];
  const filters: { colour: number[]; fx: Float64Array; fy: Float64Array }[] = [];
  for (const s of sigmas) {
    for (const [ox, oy] of jet) filters.push({ colour: colours[0], fx: gaussianTaps(s, ox, k), fy: gaussianTaps(s, oy, k) });
    for (const colour of colours.slice(1)) {
      for (const [ox, oy] of jet.slice(0, 3)) filters.push({ colour, fx: gaussianTaps(s, ox, k), fy: gaussianTaps(s, oy, k) });
    }
  }
  const count = 2 * filters.length;
  const weights = new Float32Array(k * k * 3 * count);
  filters.forEach(({ colour, fx, fy }, f) => {
    for (let y = 0; y < k; y++) {
      for (let x = 0; x < k; x++) {
        for (let c = 0; c < 3; c++) {
          const v = fy[y] * fx[x] * colour[c];
          const at = ((y * k + x) * 3 + c) * count;
          weights[at + 2 * f] = v;
          weights[at + 2 * f + 1] = -v;
        }
      }
    }
  });
  return { weights, count };
}

/**
 * Sets the teacher's stem to the Gaussian-derivative bank; channels beyond the bank keep their
 * random filters (the first 64 of the bank are used when it is larger). Returns how many
 * channels were set.
 */
export function gaussianStem(model: PyramidMamba, sigmas: readonly number[] = GAUSSIAN_STEM_SIGMAS): number {
  const v = model.params.get(STEM);
  const [kh, kw, cin, cout] = v.shape;
  if (kh !== kw || cin !== 3) throw new RangeError(`gaussianStem: expected a square RGB stem, got ${v.shape.join('×')}`);
  const bank = gaussianFilterBank(kh, sigmas);
  const used = Math.min(bank.count, cout);
  const w = v.dataSync().slice() as Float32Array;
  for (let i = 0; i < kh * kw * cin; i++) {
    for (let o = 0; o < used; o++) w[i * cout + o] = bank.weights[i * bank.count + o];
  }
  tf.tidy(() => v.assign(tf.tensor4d(w, [kh, kw, cin, cout])));
  return used;
}

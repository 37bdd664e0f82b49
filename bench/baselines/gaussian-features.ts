/**
 * Hand-made texture features: a stack of Gaussian-derivative filter responses per pixel
 * (a "jet" at a few scales), the classic no-learning description of local image structure.
 *
 * For every scale σ, on an opponent colour space (intensity L = (R+G+B)/3 and the two colour
 * opponents (R−G)/√2, (R+G−2B)/√6, all in [0, 1]):
 * - 'colour': the smoothed L, O1, O2;
 * - 'jet': σ-normalised derivatives of L: σLx, σLy, σ²Lxx, σ²Lxy, σ²Lyy and the gradient magnitude;
 * - 'energy': the local energy of each derivative, √(G_{2σ} ∗ (·)²), which describes the texture
 *   around the pixel rather than its phase.
 * Borders are mirrored. Output is pixel-major: `out[p * dim + f]`.
 *
 * @example
 * const f = gaussianFeatures(rgb, { sigmas: [1, 2, 4], groups: ['colour', 'jet', 'energy'] });
 * f.dim; // 3 scales × (3 + 6 + 5) = 42
 */
import type { RawImage } from '../../packages/data/src/index.ts';

/** Groups of responses computed at every scale. */
export type FeatureGroup = 'colour' | 'jet' | 'energy';

/** Which responses to stack. */
export interface FeatureOptions {
  /** Gaussian scales in pixels of the image as given. Default [1, 2, 4]. */
  sigmas?: readonly number[];
  /** Default ['colour', 'jet', 'energy']. */
  groups?: readonly FeatureGroup[];
}

/** Per-pixel feature vectors of one image. */
export interface FeatureMap {
  /** height·width·dim floats, pixel-major. */
  data: Float32Array;
  dim: number;
  width: number;
  height: number;
}

const GROUP_SIZE: Readonly<Record<FeatureGroup, number>> = { colour: 3, jet: 6, energy: 5 };

/** Number of features per pixel for `options`. */
export function featureDim(options: FeatureOptions = {}): number {
  const sigmas = options.sigmas ?? [1, 2, 4];
  const groups = options.groups ?? ['colour', 'jet', 'energy'];
  return sigmas.length * groups.reduce((n, g) => n + GROUP_SIZE[g], 0);
}

/** The feature stack of an RGB image (8-bit HWC, 3 channels). */
export function gaussianFeatures(image: RawImage, options: FeatureOptions = {}): FeatureMap {
  if (image.channels !== 3) throw new RangeError('gaussianFeatures: expects an RGB image (3 channels)');
  const sigmas = options.sigmas ?? [1, 2, 4];
  const groups = options.groups ?? ['colour', 'jet', 'energy'];
  const { width: W, height: H } = image;
  const n = W * H;
  const L = new Float32Array(n);
  const O1 = new Float32Array(n);
  const O2 = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const r = image.data[3 * p] / 255;
    const g = image.data[3 * p + 1] / 255;
    const b = image.data[3 * p + 2] / 255;
    L[p] = (r + g + b) / 3;
    O1[p] = (r - g) / Math.SQRT2;
    O2[p] = (r + g - 2 * b) / Math.sqrt(6);
  }
  const dim = featureDim({ sigmas, groups });
  const out = new Float32Array(n * dim);
  let f = 0;
  const put = (plane: Float32Array): void => {
    for (let p = 0; p < n; p++) out[p * dim + f] = plane[p];
    f++;
  };
  const tmp = new Float32Array(n);
  for (const sigma of sigmas) {
    const k0 = gaussianKernel(sigma, 0);
    const k1 = gaussianKernel(sigma, 1);
    const k2 = gaussianKernel(sigma, 2);
    const filter = (src: Float32Array, kx: Float32Array, ky: Float32Array, scale: number): Float32Array => {
      const dst = new Float32Array(n);
      separable(src, dst, tmp, W, H, kx, ky);
      if (scale !== 1) for (let p = 0; p < n; p++) dst[p] *= scale;
      return dst;
    };
    const derivatives = (): Float32Array[] => [
      filter(L, k1, k0, sigma),
      filter(L, k0, k1, sigma),
      filter(L, k2, k0, sigma * sigma),
      filter(L, k1, k1, sigma * sigma),
      filter(L, k0, k2, sigma * sigma),
    ];
    const d = groups.includes('jet') || groups.includes('energy') ? derivatives() : [];
    for (const group of groups) {
      if (group === 'colour') {
        put(filter(L, k0, k0, 1));
        put(filter(O1, k0, k0, 1));
        put(filter(O2, k0, k0, 1));
      } else if (group === 'jet') {
        for (const plane of d) put(plane);
        const mag = new Float32Array(n);
        for (let p = 0; p < n; p++) mag[p] = Math.hypot(d[0][p], d[1][p]);
        put(mag);
      } else {
        const ke = gaussianKernel(2 * sigma, 0);
        for (const plane of d) {
          const sq = new Float32Array(n);
          for (let p = 0; p < n; p++) sq[p] = plane[p] * plane[p];
          const e = new Float32Array(n);
          separable(sq, e, tmp, W, H, ke, ke);
          for (let p = 0; p < n; p++) e[p] = Math.sqrt(Math.max(0, e[p]));
          put(e);
        }
      }
    }
  }
  return { data: out, dim, width: W, height: H };
}

/**
 * A sampled Gaussian (order 0) or its first / second derivative, radius ⌈3σ⌉, as a correlation
 * kernel normalised so a constant, a ramp x and a parabola x²/2 give exactly 1 for their order.
 */
export function gaussianKernel(sigma: number, order: 0 | 1 | 2): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const g = new Float64Array(2 * r + 1);
  for (let k = -r; k <= r; k++) g[k + r] = Math.exp((-k * k) / (2 * sigma * sigma));
  const out = new Float32Array(2 * r + 1);
  if (order === 0) {
    const s = g.reduce((a, v) => a + v, 0);
    for (let i = 0; i < g.length; i++) out[i] = g[i] / s;
  } else if (order === 1) {
    let m = 0;
    for (let k = -r; k <= r; k++) m += k * k * g[k + r];
    for (let k = -r; k <= r; k++) out[k + r] = (k * g[k + r]) / m;
  } else {
    const raw = new Float64Array(2 * r + 1);
    for (let k = -r; k <= r; k++) raw[k + r] = (k * k - sigma * sigma) * g[k + r];
    const mean = raw.reduce((a, v) => a + v, 0) / raw.length;
    let m = 0;
    for (let k = -r; k <= r; k++) m += (raw[k + r] - mean) * k * k * 0.5;
    for (let k = -r; k <= r; k++) out[k + r] = (raw[k + r] - mean) / m;
  }
  return out;
}

/** Mirrored index (…2 1 | 0 1 2 … n−1 | n−2 …), folded until inside [0, n). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** dst = (kx along rows) then (ky along columns) correlation of src; `tmp` is scratch of the same size. */
export function separable(src: Float32Array, dst: Float32Array, tmp: Float32Array, W: number, H: number, kx: Float32Array, ky: Float32Array): void {
  const rx = (kx.length - 1) / 2;
  const ry = (ky.length - 1) / 2;
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      let s = 0;
      if (x >= rx && x + rx < W) {
        const o = row + x - rx;
        for (let k = 0; k < kx.length; k++) s += kx[k] * src[o + k];
      } else {
        for (let k = -rx; k <= rx; k++) s += kx[k + rx] * src[row + mirror(x + k, W)];
      }
      tmp[row + x] = s;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      if (y >= ry && y + ry < H) {
        const o = (y - ry) * W + x;
        for (let k = 0; k < ky.length; k++) s += ky[k] * tmp[o + k * W];
      } else {
        for (let k = -ry; k <= ry; k++) s += ky[k + ry] * tmp[mirror(y + k, H) * W + x];
      }
      dst[y * W + x] = s;
    }
  }
}

/**
 * Float RGB canvases for the synthetic data generator: HWC, values in [0, 1], plus the few
 * shape and noise primitives the class renderers and defects are made of. Shapes are drawn
 * from signed distances, so edges are antialiased over one pixel.
 */
import { createRng } from '../rng.ts';
import type { Rng } from '../rng.ts';

/** An RGB float image, HWC, values nominally in [0, 1]. */
export interface Canvas {
  data: Float32Array;
  size: number;
}

/** An RGB colour, components in [0, 1]. */
export type Rgb = readonly [number, number, number];

export function createCanvas(size: number, colour: Rgb = [0, 0, 0]): Canvas {
  const data = new Float32Array(size * size * 3);
  const [r, g, b] = colour;
  for (let p = 0; p < data.length; p += 3) {
    data[p] = r;
    data[p + 1] = g;
    data[p + 2] = b;
  }
  return { data, size };
}

export function cloneCanvas(c: Canvas): Canvas {
  return { data: c.data.slice(), size: c.size };
}

/** Luminance (Rec. 601) of pixel i. */
export function luminance(c: Canvas, i: number): number {
  const p = i * 3;
  return 0.299 * c.data[p] + 0.587 * c.data[p + 1] + 0.114 * c.data[p + 2];
}

/** Writes one RGB pixel at component offset p. */
export function put(d: Float32Array, p: number, r: number, g: number, b: number): void {
  d[p] = r;
  d[p + 1] = g;
  d[p + 2] = b;
}

/** Writes the colour a + (b − a)·t at component offset p. */
export function putLerp(d: Float32Array, p: number, a: Rgb, b: Rgb, t: number): void {
  d[p] = a[0] + (b[0] - a[0]) * t;
  d[p + 1] = a[1] + (b[1] - a[1]) * t;
  d[p + 2] = a[2] + (b[2] - a[2]) * t;
}

export function lerpRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Each component shifted by a uniform amount in [-amount, amount] (one draw per component). */
export function jitterRgb(rng: Rng, c: Rgb, amount: number): Rgb {
  return [c[0] + rng.uniform(-amount, amount), c[1] + rng.uniform(-amount, amount), c[2] + rng.uniform(-amount, amount)];
}

/** Coverage of a pixel by a shape at signed distance `sd` (pixels; negative inside). */
export function coverage(sd: number): number {
  return sd <= -0.5 ? 1 : sd >= 0.5 ? 0 : 0.5 - sd;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * Smooth value noise in [0, 1] on a `cells`×`cells` lattice that wraps around, so a random
 * offset never shows a seam.
 */
export function valueNoise(rng: Rng, size: number, cells: number): Float32Array {
  const lattice = new Float32Array(cells * cells);
  for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next();
  const out = new Float32Array(size * size);
  const scale = cells / size;
  for (let y = 0; y < size; y++) {
    const fy = y * scale;
    const y0 = Math.floor(fy);
    const ty = smooth(fy - y0);
    const r0 = (y0 % cells) * cells;
    const r1 = ((y0 + 1) % cells) * cells;
    for (let x = 0; x < size; x++) {
      const fx = x * scale;
      const x0 = Math.floor(fx);
      const tx = smooth(fx - x0);
      const c0 = x0 % cells;
      const c1 = (x0 + 1) % cells;
      const top = lattice[r0 + c0] + (lattice[r0 + c1] - lattice[r0 + c0]) * tx;
      const bottom = lattice[r1 + c0] + (lattice[r1 + c1] - lattice[r1 + c0]) * tx;
      out[y * size + x] = top + (bottom - top) * ty;
    }
  }
  return out;
}

/** Fractal value noise: octaves of doubling frequency and halving weight, normalised to [0, 1]. */
export function fractalNoise(rng: Rng, size: number, cells: number, octaves: number): Float32Array {
  const out = new Float32Array(size * size);
  let weight = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const n = valueNoise(rng, size, Math.min(size, cells << o));
    for (let i = 0; i < out.length; i++) out[i] += n[i] * weight;
    total += weight;
    weight *= 0.5;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/**
 * Lighting every photo has: brightness gain, a linear gradient in a random direction and a
 * faint vignette.
 */
export function applyLighting(c: Canvas, rng: Rng, gain: number, gradient: number): void {
  const { size, data } = c;
  const angle = rng.uniform(0, 2 * Math.PI);
  const gx = Math.cos(angle) * gradient;
  const gy = Math.sin(angle) * gradient;
  const half = size / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = (x - half) / size;
      const v = (y - half) / size;
      const f = gain * (1 + gx * u + gy * v) * (1 - 0.15 * (u * u + v * v));
      const p = (y * size + x) * 3;
      data[p] *= f;
      data[p + 1] *= f;
      data[p + 2] *= f;
    }
  }
}

// Sensor noise draws from a fixed table of 4096 standard-normal samples: a table lookup per
// component is several times cheaper than Box–Muller, and the noise stays Gaussian-shaped.
const NORMALS = (() => {
  const rng = createRng(0x5eed);
  return Float32Array.from({ length: 4096 }, () => rng.normal());
})();

/** Adds Gaussian sensor noise of standard deviation `sigma` to every component. */
export function addNoise(c: Canvas, rng: Rng, sigma: number): void {
  const d = c.data;
  for (let i = 0; i < d.length; i++) d[i] += sigma * NORMALS[rng.nextUint32() >>> 20];
}

/** Quantises to 8-bit RGB (or grey, taking the luminance) bytes. */
export function toBytes(c: Canvas, channels: 1 | 3): Uint8Array {
  const n = c.size * c.size;
  const out = new Uint8Array(n * channels);
  const q = (v: number): number => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255));
  if (channels === 3) {
    for (let i = 0; i < n * 3; i++) out[i] = q(c.data[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = q(luminance(c, i));
  }
  return out;
}

/** Distance from (px, py) to the segment (ax, ay)–(bx, by). */
export function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
  const ex = px - (ax + t * dx);
  const ey = py - (ay + t * dy);
  return Math.sqrt(ex * ex + ey * ey);
}

/**
 * Defects painted onto real texture tiles at the output resolution, each with its exact mask.
 * All are small (a mask covers at most MAX_AREA of the tile) and keep the tile's own texture
 * underneath, as MVTec AD's defects do:
 * - crack: a dark random-walk polyline 1–2 px wide, sometimes branched;
 * - scratch: a straight-ish, slightly bowed line, brighter or darker, tapered at both ends;
 * - stain: a soft irregular blob that shifts brightness and tint moderately;
 * - thread: a thin, smoothly curving foreign fibre or hair of another colour;
 * - patch: a small irregular patch of another material, colour-matched towards the host.
 *
 * A pixel is in the mask when the defect's coverage of it is at least one half; lengths and
 * radii scale with the tile size, line widths are in output pixels.
 *
 * @example
 * const mask = paintDefect('crack', tile, createRng(hashSeed(0, 'wood', 'crack', 3)), foreignTile);
 */
import type { Rng } from '../../packages/data/src/index.ts';

/** Defect folders of every class, in the order test images cycle through them. */
export const REAL_DEFECT_KINDS = ['crack', 'scratch', 'stain', 'thread', 'patch'] as const;

/** One kind of painted defect. */
export type RealDefectKind = (typeof REAL_DEFECT_KINDS)[number];

/** A square RGB tile, HWC floats in [0, 255]. */
export interface Tile {
  data: Float32Array;
  size: number;
}

/** Largest mask area, as a fraction of the tile. */
export const MAX_AREA = 0.04;
/** Mask threshold on coverage. */
const MASK_COVERAGE = 0.5;
/** Attempts at a defect whose mask falls outside its area bounds before giving up. */
const ATTEMPTS = 50;

/**
 * Paints a defect of `kind` onto `tile` (in place) and returns its 0/1 mask, size×size.
 * `foreign` is a tile of another material, used by 'patch'.
 */
export function paintDefect(kind: RealDefectKind, tile: Tile, rng: Rng, foreign: Tile): Uint8Array {
  const n = tile.size * tile.size;
  const minArea = Math.max(6, Math.round(0.0015 * n));
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const draft = draw(kind, tile, rng, foreign);
    let area = 0;
    for (let i = 0; i < n; i++) if (draft.coverage[i] >= MASK_COVERAGE) area++;
    if (area < minArea || area > MAX_AREA * n) continue;
    const mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const a = draft.coverage[i];
      if (a <= 0) continue;
      if (a >= MASK_COVERAGE) mask[i] = 1;
      for (let c = 0; c < 3; c++) {
        const v = tile.data[3 * i + c];
        tile.data[3 * i + c] = v + a * (draft.target[3 * i + c] - v);
      }
    }
    return mask;
  }
  throw new RangeError(`paintDefect: no ${kind} within area bounds after ${ATTEMPTS} attempts (tile ${tile.size} px)`);
}

/** A defect before compositing: per-pixel coverage in [0, 1] and the colour it pulls towards. */
interface Draft {
  coverage: Float32Array;
  target: Float32Array;
}

function draw(kind: RealDefectKind, tile: Tile, rng: Rng, foreign: Tile): Draft {
  switch (kind) {
    case 'crack':
      return crack(tile, rng);
    case 'scratch':
      return scratch(tile, rng);
    case 'stain':
      return stain(tile, rng);
    case 'thread':
      return thread(tile, rng);
    case 'patch':
      return patch(tile, rng, foreign);
  }
}

/** Length unit: one pixel of a 64-px tile. */
const unit = (tile: Tile): number => tile.size / 64;

function crack(tile: Tile, rng: Rng): Draft {
  const s = unit(tile);
  const coverage = new Float32Array(tile.size * tile.size);
  const width = rng.uniform(1.0, 1.8);
  const theta = rng.uniform(0, 2 * Math.PI);
  const start: [number, number] = [rng.uniform(0.25, 0.75) * tile.size, rng.uniform(0.25, 0.75) * tile.size];
  const main = randomWalk(tile.size, start, theta, rng.uniform(14, 32) * s, 2.2 * s, 0.55, rng);
  stroke(coverage, tile.size, main, taper(main.length / 2, width, 0.6));
  if (rng.next() < 0.5) {
    const at = 2 * Math.floor((main.length / 2) * rng.uniform(0.3, 0.7));
    const side = rng.next() < 0.5 ? -1 : 1;
    const branch = randomWalk(tile.size, [main[at], main[at + 1]], theta + side * rng.uniform(0.5, 1.1), rng.uniform(6, 14) * s, 2.2 * s, 0.55, rng);
    stroke(coverage, tile.size, branch, taper(branch.length / 2, 0.8 * width, 0.5));
  }
  const dark = rng.uniform(0.3, 0.55);
  return { coverage, target: mapTile(tile, (v) => v * dark) };
}

function scratch(tile: Tile, rng: Rng): Draft {
  const s = unit(tile);
  const S = tile.size;
  const coverage = new Float32Array(S * S);
  const length = rng.uniform(12, 30) * s;
  const theta = rng.uniform(0, Math.PI);
  const dx = Math.cos(theta) * length;
  const dy = Math.sin(theta) * length;
  const m = 3 * s;
  const cx = rng.uniform(m + Math.abs(dx) / 2, S - m - Math.abs(dx) / 2);
  const cy = rng.uniform(m + Math.abs(dy) / 2, S - m - Math.abs(dy) / 2);
  const bow = rng.normal() * 0.06 * length;
  const px = -Math.sin(theta) * bow;
  const py = Math.cos(theta) * bow;
  const steps = Math.max(2, Math.ceil(length / s));
  const pts: number[] = [];
  for (let k = 0; k <= steps; k++) {
    const t = k / steps;
    const b = 4 * t * (1 - t); // quadratic bow, 1 at the middle
    pts.push(cx + (t - 0.5) * dx + b * px, cy + (t - 0.5) * dy + b * py);
  }
  stroke(coverage, S, pts, taper(steps + 1, rng.uniform(1.0, 1.4), 0.4));
  const bright = rng.next() < 0.6 && meanOf(tile) < 215;
  const k = bright ? rng.uniform(0.35, 0.6) : rng.uniform(0.5, 0.7);
  return { coverage, target: mapTile(tile, bright ? (v) => v + (255 - v) * k : (v) => v * k) };
}

function stain(tile: Tile, rng: Rng): Draft {
  const s = unit(tile);
  const radius = rng.uniform(2.5, 5.5) * s;
  const coverage = blob(tile.size, radius, Math.max(1, 0.35 * radius), rng);
  const lighten = meanOf(tile) < 170 && rng.next() < 0.4;
  const f = lighten ? rng.uniform(1.1, 1.22) : rng.uniform(0.78, 0.9);
  // Dirt and oil stains yellow a surface as they darken it; bleached spots lose a little colour.
  const tint = lighten ? [1, 1, 1.03] : [1, rng.uniform(0.93, 0.98), rng.uniform(0.82, 0.92)];
  const target = new Float32Array(tile.data.length);
  for (let i = 0; i < target.length; i++) target[i] = Math.min(255, tile.data[i] * f * tint[i % 3]);
  return { coverage, target };
}

/** Fibre and hair colours a thread is drawn in (one far enough from the tile's mean colour). */
const THREAD_COLOURS: readonly (readonly [number, number, number])[] = [
  [28, 22, 18], // dark hair
  [236, 234, 226], // white fibre
  [48, 72, 160], // blue fibre
  [168, 42, 40], // red fibre
  [60, 120, 64], // green fibre
  [205, 175, 110], // blond hair
];

function thread(tile: Tile, rng: Rng): Draft {
  const s = unit(tile);
  const S = tile.size;
  const coverage = new Float32Array(S * S);
  const mean = channelMeans(tile);
  const far = THREAD_COLOURS.filter((c) => Math.hypot(c[0] - mean[0], c[1] - mean[1], c[2] - mean[2]) > 110);
  const colour = rng.pick(far.length > 0 ? far : THREAD_COLOURS);
  const start: [number, number] = [rng.uniform(0.2, 0.8) * S, rng.uniform(0.2, 0.8) * S];
  const pts = smoothCurve(S, start, rng.uniform(0, 2 * Math.PI), rng.uniform(18, 42) * s, 0.7 * s, rng);
  stroke(coverage, S, pts, taper(pts.length / 2, rng.uniform(1.0, 1.4), 0.7));
  // Coverage drives the mask; the opacity (a fibre lets some surface through) only the colour.
  const opacity = rng.uniform(0.6, 0.9);
  const target = new Float32Array(tile.data.length);
  for (let i = 0; i < S * S; i++) {
    for (let c = 0; c < 3; c++) target[3 * i + c] = tile.data[3 * i + c] + opacity * (colour[c] - tile.data[3 * i + c]);
  }
  return { coverage, target };
}

function patch(tile: Tile, rng: Rng, foreign: Tile): Draft {
  const s = unit(tile);
  const radius = rng.uniform(3, 6) * s;
  const coverage = blob(tile.size, radius, 1, rng);
  const host = channelStats(tile, coverage);
  const other = channelStats(foreign, coverage);
  // Pulled towards the host's colour and contrast, so mostly the texture gives it away.
  const match = rng.uniform(0.5, 0.9);
  const target = new Float32Array(tile.data.length);
  for (let i = 0; i < target.length; i++) {
    const c = i % 3;
    const v = foreign.data[i];
    const matched = host.mean[c] + ((v - other.mean[c]) * host.std[c]) / Math.max(other.std[c], 1);
    target[i] = Math.min(255, Math.max(0, match * matched + (1 - match) * v));
  }
  return { coverage, target };
}

/** Per-vertex widths: `width` in the middle, narrowing to `end`·width over the first and last fifth. */
function taper(count: number, width: number, end: number): Float32Array {
  const w = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const t = count > 1 ? k / (count - 1) : 0.5;
    const edge = Math.min(1, Math.min(t, 1 - t) / 0.2);
    w[k] = width * (end + (1 - end) * edge);
  }
  return w;
}

/**
 * A random walk of `length` in steps of `step`, turning by N(0, wiggle) each step and pulled back
 * towards its initial heading (cracks meander but keep a course); it bounces off the borders.
 */
function randomWalk(size: number, start: [number, number], heading: number, length: number, step: number, wiggle: number, rng: Rng): number[] {
  const pts = [start[0], start[1]];
  let [x, y] = start;
  let theta = heading;
  let course = heading;
  const margin = 2;
  for (let travelled = 0; travelled < length; travelled += step) {
    theta += rng.normal() * wiggle + 0.3 * (course - theta);
    let nx = x + Math.cos(theta) * step;
    let ny = y + Math.sin(theta) * step;
    if (nx < margin || nx > size - margin) {
      theta = Math.PI - theta;
      course = Math.PI - course;
      nx = x + Math.cos(theta) * step;
    }
    if (ny < margin || ny > size - margin) {
      theta = -theta;
      course = -course;
      ny = y + Math.sin(theta) * step;
    }
    x = nx;
    y = ny;
    pts.push(x, y);
  }
  return pts;
}

/** A smooth curve: constant small steps, the curvature itself a slow random walk (a fibre or hair). */
function smoothCurve(size: number, start: [number, number], heading: number, length: number, step: number, rng: Rng): number[] {
  const pts = [start[0], start[1]];
  let [x, y] = start;
  let theta = heading;
  let curvature = rng.normal() * 0.03; // radians per pixel: a gentle bend, not a loop
  const margin = 2;
  for (let travelled = 0; travelled < length; travelled += step) {
    curvature += rng.normal() * 0.006 * step;
    theta += curvature * step;
    let nx = x + Math.cos(theta) * step;
    let ny = y + Math.sin(theta) * step;
    if (nx < margin || nx > size - margin || ny < margin || ny > size - margin) {
      theta += Math.PI / 2;
      curvature = -curvature;
      nx = x + Math.cos(theta) * step;
      ny = y + Math.sin(theta) * step;
    }
    x = Math.min(size - margin, Math.max(margin, nx));
    y = Math.min(size - margin, Math.max(margin, ny));
    pts.push(x, y);
  }
  return pts;
}

/**
 * Adds an anti-aliased polyline to `coverage` (max over segments): a pixel centre at distance d
 * from the line of local half-width h is covered clamp(h + 0.5 − d, 0, 1) · min(1, 2h).
 */
function stroke(coverage: Float32Array, size: number, pts: readonly number[], widths: Float32Array): void {
  for (let k = 0; k + 3 < pts.length; k += 2) {
    const ax = pts[k];
    const ay = pts[k + 1];
    const bx = pts[k + 2];
    const by = pts[k + 3];
    const w0 = widths[k / 2];
    const w1 = widths[k / 2 + 1];
    const reach = Math.max(w0, w1) / 2 + 1;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
    const x1 = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + reach));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
    const y1 = Math.min(size - 1, Math.ceil(Math.max(ay, by) + reach));
    const ex = bx - ax;
    const ey = by - ay;
    const len2 = ex * ex + ey * ey || 1e-9;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const qx = x + 0.5 - ax;
        const qy = y + 0.5 - ay;
        const t = Math.min(1, Math.max(0, (qx * ex + qy * ey) / len2));
        const d = Math.hypot(qx - t * ex, qy - t * ey);
        const h = (w0 + t * (w1 - w0)) / 2;
        const a = Math.min(1, Math.max(0, h + 0.5 - d)) * Math.min(1, 2 * h);
        const i = y * size + x;
        if (a > coverage[i]) coverage[i] = a;
      }
    }
  }
}

/**
 * An irregular blob: radius r(θ) = radius·(1 + Σ a_k cos(kθ + φ_k)) for k = 2…4, coverage
 * falling smoothly from 1 to 0 across `soft` pixels centred on that edge.
 */
function blob(size: number, radius: number, soft: number, rng: Rng): Float32Array {
  const coverage = new Float32Array(size * size);
  const harmonics = [2, 3, 4].map((k) => ({ k, a: rng.uniform(0, 0.18), phi: rng.uniform(0, 2 * Math.PI) }));
  const margin = radius * 1.6 + soft;
  const cx = rng.uniform(margin, size - margin);
  const cy = rng.uniform(margin, size - margin);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const r = Math.hypot(dx, dy);
      if (r > margin) continue;
      const theta = Math.atan2(dy, dx);
      let edge = radius;
      for (const h of harmonics) edge += radius * h.a * Math.cos(h.k * theta + h.phi);
      const u = Math.min(1, Math.max(0, (edge + soft / 2 - r) / soft));
      coverage[y * size + x] = u * u * (3 - 2 * u);
    }
  }
  return coverage;
}

function mapTile(tile: Tile, f: (v: number) => number): Float32Array {
  const out = new Float32Array(tile.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(tile.data[i]);
  return out;
}

function channelMeans(tile: Tile): [number, number, number] {
  const m: [number, number, number] = [0, 0, 0];
  const n = tile.size * tile.size;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) m[c] += tile.data[3 * i + c] / n;
  return m;
}

function meanOf(tile: Tile): number {
  const [r, g, b] = channelMeans(tile);
  return (r + g + b) / 3;
}

/** Per-channel mean and standard deviation over the pixels weighted by `weight`. */
function channelStats(tile: Tile, weight: Float32Array): { mean: number[]; std: number[] } {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let total = 0;
  for (let i = 0; i < weight.length; i++) {
    const w = weight[i];
    if (w <= 0) continue;
    total += w;
    for (let c = 0; c < 3; c++) {
      const v = tile.data[3 * i + c];
      sum[c] += w * v;
      sq[c] += w * v * v;
    }
  }
  const mean = sum.map((v) => v / Math.max(total, 1e-9));
  const std = sq.map((v, c) => Math.sqrt(Math.max(0, v / Math.max(total, 1e-9) - mean[c] * mean[c])));
  return { mean, std };
}

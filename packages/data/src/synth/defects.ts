/**
 * Small defects and their exact masks. A defect first draws a region (a binary shape on the
 * pixel grid), then recolours the region's pixels; the mask is exactly the set of pixels whose
 * colour changed visibly (by more than 10/255 in some channel, or in luminance for grey
 * classes), so nothing unmarked differs from the clean image and nothing marked is unchanged
 * before lighting and noise, which apply equally to every pixel.
 */
import type { Rng } from '../rng.ts';
import { luminance, segmentDistance } from './canvas.ts';
import type { Rgb } from './canvas.ts';
import type { Scene } from './scene.ts';

/** The defect types, also the `test/<defect>` folder names. */
export const DEFECT_KINDS = ['scratch', 'spot', 'crack', 'missing', 'contamination'] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

const VISIBLE = 10 / 255;

interface Region {
  /** Pixel indices inside the defect shape. */
  pixels: number[];
}

/** Pixels (x, y) of the bounding box [x0, x1]×[y0, y1] for which `inside` holds, clipped to the image. */
function region(size: number, x0: number, y0: number, x1: number, y1: number, inside: (x: number, y: number) => boolean): Region {
  const pixels: number[] = [];
  for (let y = Math.max(0, Math.floor(y0)); y <= Math.min(size - 1, Math.ceil(y1)); y++) {
    for (let x = Math.max(0, Math.floor(x0)); x <= Math.min(size - 1, Math.ceil(x1)); x++) {
      if (inside(x + 0.5, y + 0.5)) pixels.push(y * size + x);
    }
  }
  return { pixels };
}

/** An irregular blob: a circle whose radius wobbles with two random harmonics. */
function blob(rng: Rng, size: number, cx: number, cy: number, radius: number): Region {
  const a1 = rng.uniform(0.1, 0.25);
  const k1 = rng.int(2, 4);
  const p1 = rng.uniform(0, 2 * Math.PI);
  const a2 = rng.uniform(0.05, 0.12);
  const k2 = rng.int(5, 8);
  const p2 = rng.uniform(0, 2 * Math.PI);
  const reach = radius * (1 + a1 + a2);
  return region(size, cx - reach, cy - reach, cx + reach, cy + reach, (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    const t = Math.atan2(dy, dx);
    const r = radius * (1 + a1 * Math.sin(k1 * t + p1) + a2 * Math.sin(k2 * t + p2));
    return dx * dx + dy * dy <= r * r;
  });
}

/** A polyline of half-width `half` pixels. */
function polyline(size: number, pts: readonly (readonly [number, number])[], half: number): Region {
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const pad = half + 1;
  return region(size, Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) + pad, Math.max(...ys) + pad, (x, y) => {
    for (let k = 1; k < pts.length; k++) {
      if (segmentDistance(x, y, pts[k - 1][0], pts[k - 1][1], pts[k][0], pts[k][1]) <= half) return true;
    }
    return false;
  });
}

function meanColour(scene: Scene, pixels: readonly number[]): Rgb {
  const m = [0, 0, 0];
  for (const i of pixels) for (let k = 0; k < 3; k++) m[k] += scene.canvas.data[i * 3 + k];
  const n = Math.max(1, pixels.length);
  return [m[0] / n, m[1] / n, m[2] / n];
}

/** A defect centre on the foreground, away from the image border. */
function centre(rng: Rng, scene: Scene, margin: number): [number, number] {
  const { size } = scene.canvas;
  for (let attempt = 0; attempt < 200; attempt++) {
    const x = rng.uniform(margin, size - margin);
    const y = rng.uniform(margin, size - margin);
    if (scene.foreground[Math.floor(y) * size + Math.floor(x)]) return [x, y];
  }
  return [size / 2, size / 2];
}

function shapeOf(kind: DefectKind, rng: Rng, scene: Scene): Region {
  const { size } = scene.canvas;
  const s = size / 128; // sizes below are in pixels at 128²
  const [cx, cy] = centre(rng, scene, 0.12 * size);
  switch (kind) {
    case 'scratch': {
      const len = rng.uniform(16, 28) * s;
      const angle = rng.uniform(0, Math.PI);
      const bend = rng.uniform(-0.2, 0.2) * len;
      const dx = (Math.cos(angle) * len) / 2;
      const dy = (Math.sin(angle) * len) / 2;
      const pts: [number, number][] = [];
      for (let k = 0; k <= 8; k++) {
        const t = k / 8;
        const off = bend * 4 * t * (1 - t);
        pts.push([cx - dx + 2 * dx * t - Math.sin(angle) * off, cy - dy + 2 * dy * t + Math.cos(angle) * off]);
      }
      return polyline(size, pts, Math.max(0.75, 0.7 * s));
    }
    case 'crack': {
      const pts: [number, number][] = [[cx, cy]];
      let angle = rng.uniform(0, 2 * Math.PI);
      const steps = rng.int(7, 11);
      for (let k = 0; k < steps; k++) {
        angle += rng.uniform(-0.7, 0.7);
        const step = rng.uniform(1.6, 2.6) * s;
        const [px, py] = pts[pts.length - 1];
        pts.push([px + Math.cos(angle) * step, py + Math.sin(angle) * step]);
      }
      const main = polyline(size, pts, Math.max(0.75, 0.6 * s));
      // One short branch from the middle.
      const from = pts[Math.floor(pts.length / 2)];
      const ba = angle + rng.pick([-1, 1]) * rng.uniform(0.6, 1.1);
      const branch: [number, number][] = [from, [from[0] + Math.cos(ba) * 5 * s, from[1] + Math.sin(ba) * 5 * s]];
      const extra = polyline(size, branch, Math.max(0.75, 0.5 * s));
      return { pixels: [...new Set([...main.pixels, ...extra.pixels])] };
    }
    case 'spot':
      return blob(rng, size, cx, cy, rng.uniform(2.2, 4) * s);
    case 'contamination': {
      const parts = rng.int(3, 5);
      const all = new Set<number>();
      for (let k = 0; k < parts; k++) {
        const r = rng.uniform(1.6, 3.2) * s;
        for (const i of blob(rng, size, cx + rng.uniform(-4, 4) * s, cy + rng.uniform(-4, 4) * s, r).pixels) all.add(i);
      }
      return { pixels: [...all] };
    }
    case 'missing': {
      if (scene.object) {
        // A bite out of the rim: walk out from the centre to the outline along a random ray.
        const { object: o } = scene;
        const t = rng.uniform(0, 2 * Math.PI);
        let reach = 0;
        for (let r = 0; r < o.radius * 1.5; r += 0.5) {
          const x = Math.floor(o.cx + Math.cos(t) * r);
          const y = Math.floor(o.cy + Math.sin(t) * r);
          if (x >= 0 && y >= 0 && x < size && y < size && scene.foreground[y * size + x]) reach = r;
        }
        return blob(rng, size, o.cx + Math.cos(t) * reach, o.cy + Math.sin(t) * reach, rng.uniform(6, 9) * s);
      }
      return blob(rng, size, cx, cy, rng.uniform(4, 6.5) * s);
    }
  }
}

/**
 * Applies one defect of `kind` to the scene's canvas in place and returns its mask (1 = changed
 * pixel). `grey` judges visibility on luminance, for classes written as grey images.
 */
export function applyDefect(kind: DefectKind, rng: Rng, scene: Scene, grey: boolean): Uint8Array {
  const { canvas } = scene;
  const { size, data } = canvas;
  const mask = new Uint8Array(size * size);
  for (let attempt = 0; attempt < 20; attempt++) {
    const shape = shapeOf(kind, rng, scene);
    // Objects keep defects on the part (a missing piece removes part pixels only).
    const pixels = scene.object ? shape.pixels.filter((i) => scene.foreground[i]) : shape.pixels;
    // Most of a defect must land on the part (a rim bite: a good share of it).
    if (pixels.length < Math.max(4, (kind === 'missing' ? 0.25 : 0.6) * shape.pixels.length)) continue;
    const before = pixels.map((i) => [data[i * 3], data[i * 3 + 1], data[i * 3 + 2]] as const);
    const local = meanColour(scene, pixels);
    const lum = 0.299 * local[0] + 0.587 * local[1] + 0.114 * local[2];
    recolour(kind, rng, scene, pixels, local, lum, grey);
    let changed = 0;
    pixels.forEach((i, k) => {
      const b = before[k];
      const diff = grey
        ? Math.abs(luminance(canvas, i) - (0.299 * b[0] + 0.587 * b[1] + 0.114 * b[2]))
        : Math.max(Math.abs(data[i * 3] - b[0]), Math.abs(data[i * 3 + 1] - b[1]), Math.abs(data[i * 3 + 2] - b[2]));
      if (diff > VISIBLE) {
        mask[i] = 1;
        changed++;
      } else {
        data[i * 3] = b[0];
        data[i * 3 + 1] = b[1];
        data[i * 3 + 2] = b[2];
      }
    });
    // Most of it must show (a dark crack in a dark groove barely does): else try elsewhere.
    if (changed >= Math.max(4, 0.5 * pixels.length)) return mask;
    // Too little changed to be a defect: undo and try elsewhere.
    pixels.forEach((i, k) => {
      data[i * 3] = before[k][0];
      data[i * 3 + 1] = before[k][1];
      data[i * 3 + 2] = before[k][2];
      mask[i] = 0;
    });
  }
  throw new Error(`synth: could not place a visible '${kind}' defect`);
}

function recolour(kind: DefectKind, rng: Rng, scene: Scene, pixels: number[], local: Rgb, lum: number, grey: boolean): void {
  const { data } = scene.canvas;
  const set = (i: number, c: Rgb, a: number): void => {
    for (let k = 0; k < 3; k++) data[i * 3 + k] += (c[k] - data[i * 3 + k]) * a;
  };
  switch (kind) {
    case 'scratch': {
      // Bright on dark surfaces, dark on light ones.
      const target: Rgb = lum < 0.5 ? [0.95, 0.95, 0.93] : [0.12, 0.11, 0.1];
      for (const i of pixels) set(i, target, rng.uniform(0.7, 0.85));
      return;
    }
    case 'crack':
      for (const i of pixels) {
        const f = rng.uniform(0.2, 0.35);
        for (let k = 0; k < 3; k++) data[i * 3 + k] *= f;
      }
      return;
    case 'spot': {
      const stain: Rgb = lum < 0.35 ? [0.85, 0.8, 0.55] : [0.2, 0.13, 0.07];
      for (const i of pixels) set(i, stain, rng.uniform(0.8, 0.95));
      return;
    }
    case 'contamination': {
      const candidates: Rgb[] = [
        [0.25, 0.6, 0.2],
        [0.2, 0.3, 0.8],
        [0.95, 0.92, 0.85],
        [0.08, 0.08, 0.08],
        [0.9, 0.75, 0.1],
      ];
      const score = (c: Rgb): number => {
        const l = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
        const d = Math.hypot(c[0] - local[0], c[1] - local[1], c[2] - local[2]);
        return (grey ? 0 : d) + 2 * Math.abs(l - lum);
      };
      const best = candidates.reduce((a, b) => (score(b) > score(a) ? b : a));
      for (const i of pixels) set(i, [best[0] * rng.uniform(0.85, 1.1), best[1] * rng.uniform(0.85, 1.1), best[2] * rng.uniform(0.85, 1.1)], 0.9);
      return;
    }
    case 'missing':
      for (const i of pixels) set(i, [scene.background.data[i * 3], scene.background.data[i * 3 + 1], scene.background.data[i * 3 + 2]], 1);
      return;
  }
}

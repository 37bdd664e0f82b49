/**
 * Image-level synthetic defects for teacher pretraining (DRAEM's recipe, without an external
 * texture set): a smooth random blob or a thin stroke, filled with content that does not belong
 * there — another training image (often another class's texture), the same image displaced, or
 * a flat tone — blended at a random opacity. The teacher learns to segment them, so its features
 * separate "locally out of place" from the normal images' own variation.
 *
 * Images are N×3×S×S float32 (CHW, ImageNet-normalised), as the data loader produces them.
 */
import { mulberry32, normalFrom } from '../rng.ts';

export interface PretextBatch {
  /** N×3×S×S images, some with defects painted in. */
  images: Float32Array;
  /** N×S×S defect coverage in [0, 1]. */
  masks: Float32Array;
}

export interface PretextOptions {
  /** Share of images that get a defect. Default 0.5. */
  defectRate?: number;
}

/** Smooth random field in [0, 1): bilinearly upsampled lattice noise, two octaves. */
function smoothNoise(size: number, cells: number, rand: () => number): Float32Array {
  const out = new Float32Array(size * size);
  let amp = 1;
  let total = 0;
  for (let octave = 0; octave < 2; octave++) {
    const c = cells * 2 ** octave;
    const grid = Float32Array.from({ length: (c + 1) * (c + 1) }, rand);
    for (let y = 0; y < size; y++) {
      const gy = (y / size) * c;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      const sy = fy * fy * (3 - 2 * fy);
      for (let x = 0; x < size; x++) {
        const gx = (x / size) * c;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const sx = fx * fx * (3 - 2 * fx);
        const a = grid[y0 * (c + 1) + x0];
        const b = grid[y0 * (c + 1) + x0 + 1];
        const d = grid[(y0 + 1) * (c + 1) + x0];
        const e = grid[(y0 + 1) * (c + 1) + x0 + 1];
        out[y * size + x] += amp * ((a * (1 - sx) + b * sx) * (1 - sy) + (d * (1 - sx) + e * sx) * sy);
      }
    }
    total += amp;
    amp *= 0.5;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** A blob: the smooth field above its quantile q, restricted to a random window. */
function blobMask(size: number, rand: () => number): Float32Array {
  const field = smoothNoise(size, 2 + Math.floor(rand() * 5), rand);
  const win = Math.max(4, Math.round(size * (0.15 + 0.45 * rand())));
  const x0 = Math.floor(rand() * (size - win + 1));
  const y0 = Math.floor(rand() * (size - win + 1));
  const inside: number[] = [];
  for (let y = y0; y < y0 + win; y++) for (let x = x0; x < x0 + win; x++) inside.push(field[y * size + x]);
  inside.sort((p, q) => p - q);
  const thr = inside[Math.floor(inside.length * (0.45 + 0.45 * rand()))];
  const mask = new Float32Array(size * size);
  for (let y = y0; y < y0 + win; y++) for (let x = x0; x < x0 + win; x++) if (field[y * size + x] > thr) mask[y * size + x] = 1;
  return mask;
}

/** A thin curved stroke of random length, 1–2 px wide (at 64²), anti-aliased. */
function strokeMask(size: number, rand: () => number): Float32Array {
  const mask = new Float32Array(size * size);
  const width = (0.6 + rand() * 1.2) * (size / 64);
  let x = rand() * size;
  let y = rand() * size;
  let angle = rand() * 2 * Math.PI;
  const turn = (rand() - 0.5) * 0.4;
  const steps = Math.round(size * (0.15 + 0.5 * rand()));
  for (let s = 0; s < steps; s++) {
    angle += turn + (rand() - 0.5) * 0.5;
    x += Math.cos(angle);
    y += Math.sin(angle);
    const r = Math.ceil(width + 1);
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const px = Math.round(x) + dx;
        const py = Math.round(y) + dy;
        if (px < 0 || py < 0 || px >= size || py >= size) continue;
        const d = Math.hypot(px - x, py - y);
        const v = Math.min(1, Math.max(0, width - d + 0.5));
        if (v > mask[py * size + px]) mask[py * size + px] = v;
      }
    }
  }
  return mask;
}

/**
 * Paints defects into a copy of `images` (n of them, side `size`) drawn from `pool` (m images of
 * the same size: where foreign content comes from). Deterministic for a seed.
 */
export function pretextDefects(images: Float32Array, n: number, size: number, pool: Float32Array, m: number, seed: number, opts: PretextOptions = {}): PretextBatch {
  const rand = mulberry32(seed);
  const gauss = normalFrom(rand);
  const plane = size * size;
  const out = images.slice(0, n * 3 * plane);
  const masks = new Float32Array(n * plane);
  const rate = opts.defectRate ?? 0.5;
  for (let i = 0; i < n; i++) {
    if (rand() >= rate) continue;
    const mask = rand() < 0.6 ? blobMask(size, rand) : strokeMask(size, rand);
    const opacity = 0.3 + 0.7 * rand();
    const kind = rand();
    // Source pixel (c, y, x) of the foreign content.
    let source: (c: number, y: number, x: number) => number;
    if (kind < 0.5) {
      const j = Math.floor(rand() * m);
      const dx = Math.floor(rand() * size);
      const dy = Math.floor(rand() * size);
      const flip = rand() < 0.5;
      const gain = Math.exp(gauss() * 0.3);
      source = (c, y, x) => gain * pool[j * 3 * plane + c * plane + ((y + dy) % size) * size + ((flip ? size - 1 - x : x) + dx) % size];
    } else if (kind < 0.8) {
      const dx = 4 + Math.floor(rand() * (size - 8));
      const dy = 4 + Math.floor(rand() * (size - 8));
      source = (c, y, x) => images[i * 3 * plane + c * plane + ((y + dy) % size) * size + ((x + dx) % size)];
    } else {
      const tone = [gauss() * 1.2, gauss() * 1.2, gauss() * 1.2];
      source = (c) => tone[c];
    }
    for (let p = 0; p < plane; p++) {
      const a = mask[p] * opacity;
      if (a === 0) continue;
      const y = Math.floor(p / size);
      const x = p % size;
      for (let c = 0; c < 3; c++) out[i * 3 * plane + c * plane + p] = (1 - a) * images[i * 3 * plane + c * plane + p] + a * source(c, y, x);
      masks[i * plane + p] = a;
    }
  }
  return { images: out, masks };
}

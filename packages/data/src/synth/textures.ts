/**
 * Texture classes: every image is a fresh patch of one stationary pattern, so the normal
 * variation is the texture itself (plus colour, orientation and lighting jitter).
 */
import type { Rng } from '../rng.ts';
import { coverage, createCanvas, fractalNoise, jitterRgb, lerpRgb, put, putLerp, valueNoise } from './canvas.ts';
import type { Canvas, Rgb } from './canvas.ts';
import type { ClassSpec, Scene } from './scene.ts';

function textureScene(canvas: Canvas, rng: Rng): Scene {
  const backing = jitterRgb(rng, [0.06, 0.05, 0.05], 0.02);
  return { canvas, background: createCanvas(canvas.size, backing), foreground: new Uint8Array(canvas.size * canvas.size).fill(1) };
}

/** Rotated coordinates: (x, y) turned by `angle` about the centre. */
function rotator(size: number, angle: number): (x: number, y: number) => [number, number] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const h = size / 2;
  return (x, y) => [(x - h) * c - (y - h) * s + h, (x - h) * s + (y - h) * c + h];
}

/** Reddish-brown pile carpet: several octaves of value noise over fibre grain. */
export const carpet: ClassSpec = {
  name: 'carpet',
  kind: 'texture',
  grey: false,
  render(rng, size) {
    const base = jitterRgb(rng, [0.56, 0.27, 0.22], 0.025);
    const dark = lerpRgb(base, [0.15, 0.07, 0.06], 0.55);
    const n = fractalNoise(rng, size, Math.max(4, size >> 4), 3);
    const fibre = valueNoise(rng, size, Math.max(8, size >> 1));
    const c = createCanvas(size);
    for (let i = 0; i < size * size; i++) {
      const t = Math.min(1, Math.max(0, 0.25 + 0.9 * n[i] + 0.35 * (fibre[i] - 0.5)));
      putLerp(c.data, i * 3, dark, base, t);
    }
    return textureScene(c, rng);
  },
};

/** Grey woven wire mesh: bright wires on a dark gap, over/under shading at crossings. */
export const grid: ClassSpec = {
  name: 'grid',
  kind: 'texture',
  grey: true,
  render(rng, size) {
    const period = (size / 9) * rng.uniform(0.97, 1.03);
    const wire = period * 0.16;
    const rot = rotator(size, rng.uniform(-0.04, 0.04));
    const ox = rng.uniform(0, period);
    const oy = rng.uniform(0, period);
    const gap = rng.uniform(0.2, 0.26);
    const metal = rng.uniform(0.66, 0.74);
    const haze = fractalNoise(rng, size, 4, 2);
    const c = createCanvas(size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const [u, v] = rot(x + ox, y + oy);
        const du = Math.abs(((u % period) + period) % period - period / 2);
        const dv = Math.abs(((v % period) + period) % period - period / 2);
        const cu = coverage(du - wire); // vertical wire
        const cv = coverage(dv - wire); // horizontal wire
        // Weave: at crossings the wire on top alternates between cells, and is brighter.
        const cell = (Math.floor(u / period) + Math.floor(v / period)) & 1;
        const shadeU = metal * (cell ? 1 : 0.8) * (1 - 0.5 * (du / wire) ** 2);
        const shadeV = metal * (cell ? 0.8 : 1) * (1 - 0.5 * (dv / wire) ** 2);
        let g = gap * (0.85 + 0.3 * haze[y * size + x]);
        const top = cell ? [cv, shadeV, cu, shadeU] : [cu, shadeU, cv, shadeV];
        g += (top[2] as number) * ((top[3] as number) - g);
        g += (top[0] as number) * ((top[1] as number) - g);
        c.data[(y * size + x) * 3] = g;
        c.data[(y * size + x) * 3 + 1] = g;
        c.data[(y * size + x) * 3 + 2] = g;
      }
    }
    return textureScene(c, rng);
  },
};

/** Wood grain: noisy, warped growth rings between light and dark browns. */
export const wood: ClassSpec = {
  name: 'wood',
  kind: 'texture',
  grey: false,
  render(rng, size) {
    const light = jitterRgb(rng, [0.8, 0.62, 0.42], 0.02);
    const dark = jitterRgb(rng, [0.52, 0.33, 0.18], 0.02);
    const rot = rotator(size, rng.uniform(-0.08, 0.08));
    const freq = (7 / size) * rng.uniform(0.95, 1.05);
    const phase = rng.uniform(0, 1);
    const warp = fractalNoise(rng, size, 3, 3);
    const grain = valueNoise(rng, size, Math.max(8, size >> 1));
    const c = createCanvas(size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const [, v] = rot(x, y);
        const t = v * freq + 1.6 * warp[i] + phase;
        const ring = Math.pow(0.5 + 0.5 * Math.sin(2 * Math.PI * t), 3);
        const k = Math.min(1, Math.max(0, ring * 0.85 + 0.2 * (grain[i] - 0.5)));
        putLerp(c.data, i * 3, light, dark, k);
      }
    }
    return textureScene(c, rng);
  },
};

/** Woven fabric with navy and beige stripes and a fine twill. */
export const stripes: ClassSpec = {
  name: 'stripes',
  kind: 'texture',
  grey: false,
  render(rng, size) {
    const a: Rgb = jitterRgb(rng, [0.16, 0.22, 0.42], 0.02);
    const b: Rgb = jitterRgb(rng, [0.84, 0.78, 0.62], 0.02);
    const period = (size / 7) * rng.uniform(0.97, 1.03);
    const rot = rotator(size, rng.uniform(-0.05, 0.05));
    const phase = rng.uniform(0, period);
    const slub = valueNoise(rng, size, Math.max(4, size >> 3));
    const c = createCanvas(size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const [u, v] = rot(x, y + phase);
        const s = 0.5 + 0.5 * Math.sin((2 * Math.PI * v) / period);
        const band = Math.min(1, Math.max(0, (s - 0.5) * 4 + 0.5));
        const twill = 0.05 * Math.sin(((u + v) * 2 * Math.PI) / 3);
        const col = lerpRgb(a, b, band);
        const f = 1 + twill + 0.12 * (slub[i] - 0.5);
        put(c.data, i * 3, col[0] * f, col[1] * f, col[2] * f);
      }
    }
    return textureScene(c, rng);
  },
};

/** Ceramic tiles: squares of slightly varying glaze separated by grout lines. */
export const tile: ClassSpec = {
  name: 'tile',
  kind: 'texture',
  grey: false,
  render(rng, size) {
    const glaze = jitterRgb(rng, [0.72, 0.78, 0.8], 0.02);
    const grout: Rgb = jitterRgb(rng, [0.45, 0.43, 0.4], 0.02);
    const period = (size / 3.5) * rng.uniform(0.98, 1.02);
    const width = Math.max(1, size / 100);
    const ox = rng.uniform(0, period);
    const oy = rng.uniform(0, period);
    const shades = new Float32Array(64);
    for (let k = 0; k < shades.length; k++) shades[k] = rng.uniform(0.94, 1.06);
    const mottle = fractalNoise(rng, size, Math.max(4, size >> 4), 2);
    const c = createCanvas(size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        const u = x + ox;
        const v = y + oy;
        const du = Math.abs((u % period) - period / 2);
        const dv = Math.abs((v % period) - period / 2);
        const edge = Math.max(du, dv) - (period / 2 - width);
        const shade = shades[((Math.floor(u / period) * 7 + Math.floor(v / period) * 3) & 63)] * (0.93 + 0.14 * mottle[i]);
        const col: Rgb = [glaze[0] * shade, glaze[1] * shade, glaze[2] * shade];
        putLerp(c.data, i * 3, col, grout, coverage(-edge));
      }
    }
    return textureScene(c, rng);
  },
};

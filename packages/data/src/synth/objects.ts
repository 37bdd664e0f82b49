/**
 * Object classes: one part per image on a plain background, with natural jitter in position,
 * rotation, size, colour and lighting.
 */
import type { Rng } from '../rng.ts';
import { coverage, createCanvas, fractalNoise, jitterRgb, lerpRgb, put } from './canvas.ts';
import type { Canvas, Rgb } from './canvas.ts';
import type { ClassSpec, Scene } from './scene.ts';

/** Direction the key light comes from (top left), as in a fixed inspection rig; each shot jitters it a little. */
const LIGHT = -0.75 * Math.PI;

/** A background with a little low-frequency blotchiness, like a real table top. */
function backdrop(rng: Rng, size: number, colour: Rgb, blotch: number): Canvas {
  const c = createCanvas(size);
  const n = fractalNoise(rng, size, 4, 2);
  for (let i = 0; i < size * size; i++) {
    const f = 1 + blotch * (n[i] - 0.5);
    put(c.data, i * 3, colour[0] * f, colour[1] * f, colour[2] * f);
  }
  return c;
}

/**
 * Paints an object over a copy of the background. `shade(x, y)` returns the object's colour
 * and signed distance to its outline at a pixel (negative inside).
 */
function paint(
  background: Canvas,
  placement: { cx: number; cy: number; radius: number },
  shade: (x: number, y: number) => { sd: number; colour: Rgb },
): Scene {
  const { size } = background;
  const canvas: Canvas = { data: background.data.slice(), size };
  const foreground = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const { sd, colour } = shade(x + 0.5, y + 0.5);
      const a = coverage(sd);
      if (a <= 0) continue;
      const i = y * size + x;
      const p = i * 3;
      for (let k = 0; k < 3; k++) canvas.data[p + k] += (colour[k] - canvas.data[p + k]) * a;
      if (a >= 0.5) foreground[i] = 1;
    }
  }
  return { canvas, background, foreground, object: placement };
}

function placement(rng: Rng, size: number, radius: number): { cx: number; cy: number; radius: number } {
  return {
    cx: size / 2 + rng.uniform(-0.05, 0.05) * size,
    cy: size / 2 + rng.uniform(-0.05, 0.05) * size,
    radius: radius * size * rng.uniform(0.96, 1.04),
  };
}

/** A brushed steel washer on dark rubber. */
export const disc: ClassSpec = {
  name: 'disc',
  kind: 'object',
  grey: false,
  render(rng, size) {
    const bg = backdrop(rng, size, jitterRgb(rng, [0.17, 0.17, 0.19], 0.015), 0.25);
    const at = placement(rng, size, 0.3);
    const hole = at.radius * 0.34;
    const steel = jitterRgb(rng, [0.66, 0.68, 0.72], 0.02);
    const light = LIGHT + rng.uniform(-0.15, 0.15);
    const brush = rng.uniform(0, 2 * Math.PI);
    return paint(bg, at, (x, y) => {
      const dx = x - at.cx;
      const dy = y - at.cy;
      const r = Math.sqrt(dx * dx + dy * dy);
      const sd = Math.max(r - at.radius, hole - r);
      const theta = Math.atan2(dy, dx);
      const rel = (r - hole) / (at.radius - hole);
      const f = 0.72 + 0.22 * Math.cos(theta - light) * (0.4 + 0.6 * rel) + 0.05 * Math.sin((r / at.radius) * 60 + brush);
      const rim = rel > 0.9 || rel < 0.08 ? 0.85 : 1;
      return { sd, colour: [steel[0] * f * rim, steel[1] * f * rim, steel[2] * f * rim] };
    });
  },
};

/** A hexagonal steel nut with a threaded hole, on light card. */
export const nut: ClassSpec = {
  name: 'nut',
  kind: 'object',
  grey: false,
  render(rng, size) {
    const bg = backdrop(rng, size, jitterRgb(rng, [0.83, 0.82, 0.78], 0.015), 0.12);
    const at = placement(rng, size, 0.3);
    const rotation = rng.uniform(0, Math.PI / 3);
    const hole = at.radius * 0.42;
    const metal = jitterRgb(rng, [0.55, 0.55, 0.57], 0.02);
    const light = LIGHT + rng.uniform(-0.15, 0.15);
    const apothem = at.radius * Math.cos(Math.PI / 6);
    return paint(bg, at, (x, y) => {
      const dx = x - at.cx;
      const dy = y - at.cy;
      const r = Math.sqrt(dx * dx + dy * dy);
      const theta = Math.atan2(dy, dx) - rotation;
      // Distance to the hexagon: project onto the nearest face normal.
      const sector = Math.round(theta / (Math.PI / 3));
      const normal = sector * (Math.PI / 3);
      const face = r * Math.cos(theta - normal);
      const sd = Math.max(face - apothem, hole - r);
      const bevel = face > apothem - at.radius * 0.12 ? 0.75 + 0.35 * Math.cos(normal + rotation - light) : 1;
      const thread = r < hole * 1.18 ? 0.55 + 0.2 * Math.sin(r * 1.7) : 1;
      const f = (0.82 + 0.12 * Math.cos(Math.atan2(dy, dx) - light) * (r / at.radius)) * bevel * thread;
      return { sd, colour: [metal[0] * f, metal[1] * f, metal[2] * f] };
    });
  },
};

/** A red crimped bottle cap with a white printed ring, on pale grey. */
export const cap: ClassSpec = {
  name: 'cap',
  kind: 'object',
  grey: false,
  render(rng, size) {
    const bg = backdrop(rng, size, jitterRgb(rng, [0.88, 0.88, 0.9], 0.012), 0.08);
    const at = placement(rng, size, 0.3);
    const red = jitterRgb(rng, [0.76, 0.13, 0.11], 0.025);
    const white: Rgb = [0.93, 0.92, 0.88];
    const teeth = 21;
    const phase = rng.uniform(0, 2 * Math.PI);
    const light = LIGHT + rng.uniform(-0.15, 0.15);
    return paint(bg, at, (x, y) => {
      const dx = x - at.cx;
      const dy = y - at.cy;
      const r = Math.sqrt(dx * dx + dy * dy);
      const theta = Math.atan2(dy, dx);
      const edge = at.radius * (1 + 0.035 * Math.sin(teeth * theta + phase));
      const sd = r - edge;
      const rel = r / at.radius;
      let colour: Rgb = red;
      const ring = Math.abs(rel - 0.55) - 0.05;
      colour = lerpRgb(colour, white, coverage(ring * at.radius));
      const skirt = rel > 0.82 ? 0.78 + 0.2 * Math.sin(teeth * theta + phase) : 1;
      const f = (0.9 + 0.12 * Math.cos(theta - light) * rel) * skirt;
      return { sd, colour: [colour[0] * f, colour[1] * f, colour[2] * f] };
    });
  },
};

/**
 * Heatmap overlays: an anomaly map coloured with a colormap and blended over its image,
 * written as PNG. The picture has the map's size; an image given as a file is brought to that
 * size with the model's own geometry (shorter-side resize + centre crop), so each map pixel
 * lands on the image pixel it was computed from.
 *
 * @example
 * await writeHeatmapOverlay('bottle_000.png', 'mvtec/bottle/test/broken_large/000.png',
 *   { data: map, width: 256, height: 256 }, { range: [0, 0.6] });
 */
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError } from './errors.ts';
import { decodeImage, encodePng, loadRgb } from './image.ts';
import type { ImageSource, RawImage } from './image.ts';

/** Colormaps: 'jet' (MATLAB's classic) and 'turbo' (a perceptually smoother rainbow, approximated by 11 anchors). */
export type Colormap = 'jet' | 'turbo';

/** A float map, row-major; a bare array is taken as a square map. */
export type FloatMap = { data: ArrayLike<number>; width: number; height: number } | Float32Array | Float64Array;

function asMap(map: FloatMap): { data: ArrayLike<number>; width: number; height: number } {
  if (!(map instanceof Float32Array || map instanceof Float64Array)) return map;
  const side = Math.round(Math.sqrt(map.length));
  if (side * side !== map.length) {
    throw new DataError('E_ARGUMENT', `heatmap: a bare map must be square, got ${map.length} values; pass { data, width, height }`);
  }
  return { data: map, width: side, height: side };
}

/** Options of the overlay functions. */
export interface HeatmapOptions {
  /** Map values at the colormap's ends: [low, high], or 'minmax' of this map. Default: 'minmax'. */
  range?: readonly [number, number] | 'minmax';
  /** Weight of the colour over the image, in [0, 1]. Default: 0.5. */
  alpha?: number;
  /** Default: 'jet'. */
  colormap?: Colormap;
  /** Shorter side the image is resized to before the centre crop (image files only). Default: the map size. */
  resize?: number;
}

const TURBO_ANCHORS: readonly (readonly [number, number, number])[] = [
  [48, 18, 59], [67, 90, 200], [62, 156, 254], [24, 215, 203], [70, 247, 131], [164, 252, 60],
  [225, 221, 55], [254, 164, 49], [242, 94, 24], [195, 37, 3], [122, 4, 3],
];

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** The colour of t ∈ [0, 1] as RGB bytes. */
export function colormapRgb(t: number, colormap: Colormap = 'jet'): [number, number, number] {
  const u = clamp01(Number.isNaN(t) ? 0 : t);
  if (colormap === 'jet') {
    return [
      Math.round(255 * clamp01(1.5 - Math.abs(4 * u - 3))),
      Math.round(255 * clamp01(1.5 - Math.abs(4 * u - 2))),
      Math.round(255 * clamp01(1.5 - Math.abs(4 * u - 1))),
    ];
  }
  const pos = u * (TURBO_ANCHORS.length - 1);
  const i = Math.min(TURBO_ANCHORS.length - 2, Math.floor(pos));
  const f = pos - i;
  const a = TURBO_ANCHORS[i];
  const b = TURBO_ANCHORS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

function isRaw(x: ImageSource | RawImage): x is RawImage {
  return typeof x === 'object' && !(x instanceof Uint8Array) && 'data' in x;
}

async function imageAtMapSize(image: ImageSource | RawImage, map: { width: number; height: number }, resize?: number): Promise<RawImage> {
  const { width, height } = map;
  if (!isRaw(image) && width === height) return loadRgb(image, { size: width, resize: resize ?? width });
  if (isRaw(image) && image.width === width && image.height === height && image.channels === 3) return image;
  const raw = isRaw(image) ? image : await decodeImage(image);
  const { data } = await sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } })
    .removeAlpha()
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: 3 };
}

/** Blends the coloured map over the image; returns RGB pixels at the map's size. */
export async function heatmapOverlay(image: ImageSource | RawImage, floatMap: FloatMap, options: HeatmapOptions = {}): Promise<RawImage> {
  const map = asMap(floatMap);
  const { width, height, data } = map;
  if (data.length !== width * height) {
    throw new DataError('E_ARGUMENT', `heatmap: map has ${data.length} values, expected ${width}×${height}`);
  }
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new DataError('E_ARGUMENT', `heatmap: alpha ${alpha} must be in [0, 1]`);
  let lo: number;
  let hi: number;
  if (options.range && options.range !== 'minmax') {
    [lo, hi] = options.range;
  } else {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const span = hi > lo ? hi - lo : 1;
  const rgb = await imageAtMapSize(image, map, options.resize);
  const colormap = options.colormap ?? 'jet';
  const lut = new Uint8Array(256 * 3);
  for (let k = 0; k < 256; k++) lut.set(colormapRgb(k / 255, colormap), k * 3);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const t = clamp01((data[i] - lo) / span);
    const k = Math.round((Number.isNaN(t) ? 0 : t) * 255) * 3;
    for (let c = 0; c < 3; c++) {
      out[i * 3 + c] = Math.round((1 - alpha) * rgb.data[i * 3 + c] + alpha * lut[k + c]);
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** The overlay as PNG bytes. */
export async function heatmapOverlayPng(image: ImageSource | RawImage, map: FloatMap, options: HeatmapOptions = {}): Promise<Buffer> {
  return encodePng(await heatmapOverlay(image, map, options));
}

/** Writes the overlay to a PNG file. */
export async function writeHeatmapOverlay(path: string, image: ImageSource | RawImage, map: FloatMap, options: HeatmapOptions = {}): Promise<void> {
  await writeFile(path, await heatmapOverlayPng(image, map, options));
}

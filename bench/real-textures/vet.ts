/**
 * Vets a candidate photo for the real-texture set: is it one photograph, or a texture cloned or
 * tiled to repeat itself? Train and test tiles come from disjoint bands of one photo, so a photo
 * whose test band repeats its train band would leak train content into the test set. Two numbers,
 * both on a grey copy 256 px wide (Lanczos):
 *
 * - self-shift: the mean absolute grey difference between the copy and itself shifted by (dx, dy),
 *   over the overlap, for every shift of at least 12 px and at most half the copy's width and
 *   height (in steps of 2 px): its minimum (and where) against its mean over all those shifts.
 *   A tiled texture matches itself at its period (minimum near 0); a photo's minimum is a small
 *   shift along its grain and close to the mean.
 * - cross-band: each 16×16 patch of the test band (on an 8-px grid) is matched against every
 *   position in the train band; its best mean absolute difference divided by the patch's own
 *   contrast (mean absolute deviation from its mean) is its match ratio. A patch cloned from the
 *   train band has a ratio near 0; a photo's patches rarely go below ~0.4. Printed: the smallest
 *   ratio, the 5th percentile and the median.
 *
 *   npx tsx bench/real-textures/vet.ts --set holdout          (≈6 s a photo)
 *   npx tsx bench/real-textures/vet.ts FILE|ARCHIVE.pk3:MEMBER ...
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { RealTexturesError } from './errors.ts';
import { TEXTURE_SETS, TRAIN_FRACTION, loadPhoto } from './sources.ts';
import type { Photo, TextureSource } from './sources.ts';

/** Width of the grey copy the measures are taken on. */
const VET_WIDTH = 256;
const MIN_SHIFT = 12;
const SHIFT_STEP = 2;
const PATCH = 16;
const PATCH_STRIDE = 8;

/** What `vetPhoto` measured. */
export interface Vetting {
  width: number;
  height: number;
  /** Self-shift: the smallest mean absolute difference, its shift (in copy pixels) and the mean over all shifts. */
  shiftMin: number;
  shiftAt: [number, number];
  shiftMean: number;
  /** Cross-band match ratios of the test band's patches: smallest, 5th percentile, median. */
  crossMin: number;
  crossP5: number;
  crossMedian: number;
  patches: number;
}

/** Both measures for one decoded photo. */
export async function vetPhoto(photo: Photo): Promise<Vetting> {
  const height = Math.round((photo.height * VET_WIDTH) / photo.width);
  const raw = await sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
    .resize(VET_WIDTH, height, { kernel: 'lanczos3' })
    .greyscale()
    .raw()
    .toBuffer();
  const g = Float64Array.from(raw);
  const w = VET_WIDTH;
  const h = height;

  const mad = (dx: number, dy: number): number => {
    let s = 0;
    let n = 0;
    for (let y = Math.max(0, -dy); y < Math.min(h, h - dy); y++) {
      for (let x = Math.max(0, -dx); x < Math.min(w, w - dx); x++) {
        s += Math.abs(g[y * w + x] - g[(y + dy) * w + x + dx]);
        n++;
      }
    }
    return s / n;
  };
  let shiftMin = Infinity;
  let shiftAt: [number, number] = [0, 0];
  let sum = 0;
  let count = 0;
  const maxX = Math.floor(w / 2);
  const maxY = Math.floor(h / 2);
  for (let dy = -maxY; dy <= maxY; dy += SHIFT_STEP) {
    for (let dx = -maxX; dx <= maxX; dx += SHIFT_STEP) {
      if (Math.hypot(dx, dy) < MIN_SHIFT) continue;
      const m = mad(dx, dy);
      sum += m;
      count++;
      if (m < shiftMin) {
        shiftMin = m;
        shiftAt = [dx, dy];
      }
    }
  }

  // The bands as `regions` cuts them, on the copy: train = first 60 % of the longer side.
  const horizontal = w >= h;
  const cut = Math.round((horizontal ? w : h) * TRAIN_FRACTION);
  const train = horizontal ? { x0: 0, y0: 0, x1: cut, y1: h } : { x0: 0, y0: 0, x1: w, y1: cut };
  const test = horizontal ? { x0: cut, y0: 0, x1: w, y1: h } : { x0: 0, y0: cut, x1: w, y1: h };
  const ratios: number[] = [];
  const p = new Float64Array(PATCH * PATCH);
  for (let ty = test.y0; ty + PATCH <= test.y1; ty += PATCH_STRIDE) {
    for (let tx = test.x0; tx + PATCH <= test.x1; tx += PATCH_STRIDE) {
      let mean = 0;
      for (let y = 0; y < PATCH; y++) for (let x = 0; x < PATCH; x++) mean += p[y * PATCH + x] = g[(ty + y) * w + tx + x];
      mean /= PATCH * PATCH;
      let contrast = 0;
      for (const v of p) contrast += Math.abs(v - mean);
      contrast /= PATCH * PATCH;
      // Best match in the train band, abandoning a position once it is worse than the best so far.
      let best = Infinity;
      for (let sy = train.y0; sy + PATCH <= train.y1; sy++) {
        for (let sx = train.x0; sx + PATCH <= train.x1; sx++) {
          let s = 0;
          for (let y = 0; y < PATCH && s < best; y++) {
            const row = (sy + y) * w + sx;
            for (let x = 0; x < PATCH; x++) s += Math.abs(p[y * PATCH + x] - g[row + x]);
          }
          if (s < best) best = s;
        }
      }
      ratios.push(best / (PATCH * PATCH) / Math.max(contrast, 1));
    }
  }
  ratios.sort((a, b) => a - b);
  const at = (q: number): number => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))];
  return {
    width: photo.width,
    height: photo.height,
    shiftMin,
    shiftAt,
    shiftMean: sum / count,
    crossMin: ratios[0],
    crossP5: at(0.05),
    crossMedian: at(0.5),
    patches: ratios.length,
  };
}

/** A source for a path given on the command line: a file, or `archive.pk3:member`. */
function sourceOf(spec: string): TextureSource {
  const m = /^(.*\.pk3):(.+)$/.exec(spec);
  return {
    name: spec,
    aptPackage: '(given path)',
    file: m ? m[1] : spec,
    ...(m ? { member: m[2] } : {}),
    crop: 0,
    description: '',
    licence: '',
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { set: { type: 'string' } }, allowPositionals: true });
  let sources: readonly TextureSource[];
  const given = positionals.length > 0;
  if (given) sources = positionals.map(sourceOf);
  else {
    const set = values.set ?? 'main';
    if (!Object.hasOwn(TEXTURE_SETS, set)) throw new RealTexturesError('E_ARGUMENT', `unknown --set '${set}'; sets are ${Object.keys(TEXTURE_SETS).join(', ')}`);
    sources = TEXTURE_SETS[set as keyof typeof TEXTURE_SETS];
  }
  console.log('photo\tsize\tself-shift min @(dx,dy) / mean\tcross-band ratio min / p5 / median (patches)');
  for (const s of sources) {
    const v = await vetPhoto(await loadPhoto(s));
    const label = given ? s.name : `${s.name} (${s.member ?? s.file})`;
    console.log(
      `${label}\t${v.width}×${v.height}\t${v.shiftMin.toFixed(1)} @(${v.shiftAt.join(',')}) / ${v.shiftMean.toFixed(1)}\t` +
        `${v.crossMin.toFixed(2)} / ${v.crossP5.toFixed(2)} / ${v.crossMedian.toFixed(2)} (${v.patches})`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    const e = err as Error & { code?: string };
    console.error(`error: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
    process.exit(1);
  });
}

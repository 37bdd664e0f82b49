/**
 * The synthetic data set: MVTec AD layout, several visually different classes (textures and
 * objects), small defects with exact masks. Every image is a pure function of
 * (seed, class, split, folder, index, size), so the same arguments give the same bytes, and
 * asking for more images adds files without changing the existing ones.
 *
 *   <out>/<class>/train/good/000.png
 *   <out>/<class>/test/good/000.png, <out>/<class>/test/<defect>/000.png
 *   <out>/<class>/ground_truth/<defect>/000_mask.png   (0/255, single channel)
 *   <out>/pmamba-synth.json                            (the arguments)
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../errors.ts';
import { encodePng } from '../image.ts';
import type { RawImage } from '../image.ts';
import { createRng, hashSeed } from '../rng.ts';
import { addNoise, applyLighting, cloneCanvas, toBytes } from './canvas.ts';
import type { Canvas } from './canvas.ts';
import { DEFECT_KINDS, applyDefect } from './defects.ts';
import type { DefectKind } from './defects.ts';
import { cap, disc, nut } from './objects.ts';
import type { ClassSpec } from './scene.ts';
import { carpet, grid, stripes, tile, wood } from './textures.ts';

/** Every synthetic class, in the order `--classes N` takes them (textures and objects alternate). */
export const SYNTH_CLASSES: readonly ClassSpec[] = [carpet, disc, grid, nut, wood, cap, stripes, tile];

/** Options of `synthesize`. */
export interface SynthOptions {
  /** Output folder; created if missing. A non-empty folder is refused unless it holds an earlier synthetic set, which is replaced. */
  out: string;
  /** How many classes (the first N of SYNTH_CLASSES) or which ones by name. Default: 3. */
  classes?: number | readonly string[];
  /** Image side in pixels (≥ 32). Default: 128. */
  size?: number;
  /** Normal training images per class. Default: 40. */
  train?: number;
  /** Test images per class: half normal (rounded down), the rest defects cycling through the types. Default: 20. */
  test?: number;
  /** Default: 0. */
  seed?: number;
  /** PNG encodes in flight. Default: the number of CPUs. */
  concurrency?: number;
  /** Called after each written image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** What `synthesize` wrote. */
export interface SynthResult {
  root: string;
  classes: string[];
  /** Image files written (masks not counted). */
  images: number;
  masks: number;
}

/** One rendered image: 8-bit pixels and, for a defect, its 0/1 mask. */
export interface SynthImage {
  image: RawImage;
  mask?: Uint8Array;
}

const MANIFEST = 'pmamba-synth.json';

function classSpec(name: string): ClassSpec {
  const spec = SYNTH_CLASSES.find((c) => c.name === name);
  if (!spec) throw new DataError('E_ARGUMENT', `unknown synthetic class '${name}' (have: ${SYNTH_CLASSES.map((c) => c.name).join(', ')})`);
  return spec;
}

/**
 * Renders one image of a class: a normal one (`defect` 'good') or one with the given defect.
 * Pure: the same arguments give the same pixels. With `clean`, also returns the same image
 * without its defect (same scene, lighting and noise), which is how the masks are tested.
 */
export function renderSynthImage(
  className: string,
  split: 'train' | 'test',
  defect: DefectKind | 'good',
  index: number,
  size: number,
  seed: number,
  options: { clean?: boolean } = {},
): SynthImage & { clean?: RawImage } {
  const spec = classSpec(className);
  // Separate streams for scene, defect and camera, so the clean twin differs only by the defect.
  const key = [seed, className, split, defect, index, size] as const;
  const scene = spec.render(createRng(hashSeed(...key, 'scene')), size);
  const cleanCanvas = options.clean ? cloneCanvas(scene.canvas) : undefined;
  const mask = defect === 'good' ? undefined : applyDefect(defect, createRng(hashSeed(...key, 'defect')), scene, spec.grey);
  const channels = spec.grey ? 1 : 3;
  const finish = (canvas: Canvas): RawImage => {
    const camera = createRng(hashSeed(...key, 'camera'));
    applyLighting(canvas, camera, camera.uniform(0.92, 1.08), camera.uniform(0, 0.12));
    addNoise(canvas, camera, 0.012);
    return { data: toBytes(canvas, channels), width: size, height: size, channels };
  };
  return {
    image: finish(scene.canvas),
    ...(mask ? { mask } : {}),
    ...(cleanCanvas ? { clean: finish(cleanCanvas) } : {}),
  };
}

interface Job {
  path: string;
  maskPath?: string;
  className: string;
  split: 'train' | 'test';
  defect: DefectKind | 'good';
  index: number;
}

function resolveClasses(classes: SynthOptions['classes']): string[] {
  if (classes === undefined) return SYNTH_CLASSES.slice(0, 3).map((c) => c.name);
  if (typeof classes === 'number') {
    if (!Number.isInteger(classes) || classes < 1 || classes > SYNTH_CLASSES.length) {
      throw new DataError('E_ARGUMENT', `--classes must be 1..${SYNTH_CLASSES.length}, got ${classes}`);
    }
    return SYNTH_CLASSES.slice(0, classes).map((c) => c.name);
  }
  for (const n of classes) classSpec(n);
  return [...classes];
}

async function prepareOut(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch {
    await mkdir(out, { recursive: true });
    return;
  }
  if (entries.length === 0) return;
  if (!entries.includes(MANIFEST)) {
    throw new DataError('E_ARGUMENT', `${out}: folder is not empty and holds no earlier synthetic data set (${MANIFEST}); choose an empty or new folder`, out);
  }
  const previous = JSON.parse(await readFile(join(out, MANIFEST), 'utf8')) as { classes?: unknown };
  // Only folders named like our classes are removed, whatever the manifest says.
  const known = new Set(SYNTH_CLASSES.map((c) => c.name));
  const names = Array.isArray(previous.classes) ? previous.classes.filter((c): c is string => typeof c === 'string' && known.has(c)) : [];
  for (const name of names) await rm(join(out, name), { recursive: true, force: true });
  await rm(join(out, MANIFEST), { force: true });
}

/** Writes the synthetic data set. */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const size = options.size ?? 128;
  const train = options.train ?? 40;
  const test = options.test ?? 20;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(size) || size < 32 || size > 4096) throw new DataError('E_ARGUMENT', `--size must be an integer in [32, 4096], got ${size}`);
  if (!Number.isInteger(train) || train < 1) throw new DataError('E_ARGUMENT', `--train must be a positive integer, got ${train}`);
  if (!Number.isInteger(test) || test < 0) throw new DataError('E_ARGUMENT', `--test must be a non-negative integer, got ${test}`);
  if (!Number.isInteger(seed)) throw new DataError('E_ARGUMENT', `--seed must be an integer, got ${seed}`);
  const classes = resolveClasses(options.classes);
  await prepareOut(options.out);

  const jobs: Job[] = [];
  const dirs = new Set<string>();
  for (const [c, className] of classes.entries()) {
    const root = join(options.out, className);
    for (let i = 0; i < train; i++) {
      jobs.push({ path: join(root, 'train', 'good', `${String(i).padStart(3, '0')}.png`), className, split: 'train', defect: 'good', index: i });
    }
    const goods = Math.floor(test / 2);
    for (let i = 0; i < goods; i++) {
      jobs.push({ path: join(root, 'test', 'good', `${String(i).padStart(3, '0')}.png`), className, split: 'test', defect: 'good', index: i });
    }
    const perDefect = new Map<DefectKind, number>();
    for (let k = 0; k < test - goods; k++) {
      const defect = DEFECT_KINDS[(k + c) % DEFECT_KINDS.length];
      const i = perDefect.get(defect) ?? 0;
      perDefect.set(defect, i + 1);
      const name = String(i).padStart(3, '0');
      jobs.push({
        path: join(root, 'test', defect, `${name}.png`),
        maskPath: join(root, 'ground_truth', defect, `${name}_mask.png`),
        className,
        split: 'test',
        defect,
        index: i,
      });
    }
  }
  for (const j of jobs) {
    dirs.add(join(j.path, '..'));
    if (j.maskPath) dirs.add(join(j.maskPath, '..'));
  }
  for (const d of [...dirs].sort()) await mkdir(d, { recursive: true });

  let next = 0;
  let done = 0;
  let masks = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const { image, mask } = renderSynthImage(j.className, j.split, j.defect, j.index, size, seed);
      const writes = [encodePng(image).then((b) => writeFile(j.path, b))];
      if (mask && j.maskPath) {
        const bytes = new Uint8Array(mask.length);
        for (let i = 0; i < mask.length; i++) bytes[i] = mask[i] ? 255 : 0;
        writes.push(encodePng({ data: bytes, width: size, height: size, channels: 1 }).then((b) => writeFile(j.maskPath!, b)));
        masks++;
      }
      await Promise.all(writes);
      options.onProgress?.(++done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? availableParallelism()) }, worker));
  const manifest = { generator: 'pmamba-synth', version: 1, classes, size, train, test, seed };
  await writeFile(join(options.out, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return { root: options.out, classes, images: jobs.length, masks };
}

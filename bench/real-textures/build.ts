/**
 * Builds the real-texture benchmark set in MVTec AD layout from photographs that Debian
 * packages install (see README.md beside this file and sources.ts):
 *
 *   npx tsx bench/real-textures/build.ts --out DIR [--set main|holdout] [--size 64] [--seed 0] [--train 50] [--good 20] [--per-defect 4]
 *
 *   <out>/<class>/train/good/000.png          tiles from the photo's train band
 *   <out>/<class>/test/good/000.png           tiles from its disjoint test band
 *   <out>/<class>/test/<defect>/000.png       test-band tiles with a painted defect
 *   <out>/<class>/ground_truth/<defect>/000_mask.png   (0/255, single channel)
 *   <out>/real-textures.json                  set, sources, licences, arguments and every tile's box
 *
 * Every tile is a pure function of (seed, class, folder, index, size).
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createRng, hashSeed, writePng } from '../../packages/data/src/index.ts';
import type { Rng } from '../../packages/data/src/index.ts';
import { REAL_DEFECT_KINDS, paintDefect } from './defects.ts';
import type { Tile } from './defects.ts';
import { RealTexturesError } from './errors.ts';
import { TEXTURE_SETS, TRAIN_FRACTION, loadPhoto, regions } from './sources.ts';
import type { Box, Photo, TextureSetName, TextureSource } from './sources.ts';

/** Name of the manifest file; its presence marks a folder this builder may overwrite. */
export const MANIFEST = 'real-textures.json';

/** Options of `buildRealTextures`. */
export interface BuildOptions {
  /** Output folder; created if missing. A non-empty folder is refused unless it holds an earlier build. */
  out: string;
  /** Tile side in pixels. Default 64. */
  size?: number;
  /** Default 0. */
  seed?: number;
  /** Training tiles per class. Default 50. */
  train?: number;
  /** Defect-free test tiles per class. Default 20. */
  good?: number;
  /** Test tiles per defect kind and class (five kinds). Default 4. */
  perDefect?: number;
  /** Which set of photos: 'main' (TEXTURE_SOURCES) or 'holdout' (HOLDOUT_SOURCES). Default 'main'. */
  set?: TextureSetName;
  /** Class names of the set to build. Default: all of the set. */
  classes?: readonly string[];
}

/** One written tile, for the manifest. */
interface TileRecord {
  file: string;
  /** Photo region the tile was resized from. */
  box: Box;
  mask?: string;
  /** Class whose photo gave the foreign material of a 'patch'. */
  foreign?: string;
  /** Mask area as a fraction of the tile. */
  area?: number;
}

/** What `buildRealTextures` wrote. */
export interface BuildResult {
  root: string;
  set: TextureSetName;
  classes: string[];
  images: number;
  masks: number;
}

/** Builds the data set; see the file comment for the layout. */
export async function buildRealTextures(options: BuildOptions): Promise<BuildResult> {
  const size = options.size ?? 64;
  const seed = options.seed ?? 0;
  const counts = { train: options.train ?? 50, good: options.good ?? 20, perDefect: options.perDefect ?? 4 };
  if (!Number.isInteger(size) || size < 32) throw new RealTexturesError('E_ARGUMENT', `--size must be an integer ≥ 32, got ${size}`);
  for (const [k, v] of Object.entries(counts)) {
    if (!Number.isInteger(v) || v < 1) throw new RealTexturesError('E_ARGUMENT', `--${k} must be a positive integer, got ${v}`);
  }
  const set = options.set ?? 'main';
  if (!Object.hasOwn(TEXTURE_SETS, set)) {
    throw new RealTexturesError('E_ARGUMENT', `--set must be one of ${Object.keys(TEXTURE_SETS).join(', ')}, got '${set}'`);
  }
  const setSources = TEXTURE_SETS[set];
  const sources = selectSources(setSources, options.classes);
  const root = resolve(options.out);

  // Every photo is decoded first: a missing package fails before anything is written, and the
  // 'patch' defect takes foreign material from the other classes' photos (of the same set).
  const photos = new Map<string, Photo>();
  for (const s of sources) photos.set(s.name, await loadPhoto(s));
  const foreignSources = sources.length > 1 ? sources : setSources;
  for (const s of foreignSources) if (!photos.has(s.name)) photos.set(s.name, await loadPhoto(s));
  await prepareOut(root);

  const manifestClasses = [];
  let images = 0;
  let masks = 0;
  for (const source of sources) {
    const photo = photos.get(source.name)!;
    const bands = regions(photo, source.crop);
    const tiles: Record<string, TileRecord[]> = {};
    const dir = join(root, source.name);

    const cutInto = async (folder: string, band: Box, count: number): Promise<void> => {
      const out = join(dir, ...folder.split('/'));
      await mkdir(out, { recursive: true });
      tiles[folder] = [];
      for (let i = 0; i < count; i++) {
        const rng = createRng(hashSeed(seed, source.name, folder, i));
        const box = placeBox(band, source.crop, rng);
        const file = `${pad(i)}.png`;
        await writeTile(join(out, file), await cutTile(photo, box, size));
        tiles[folder].push({ file: `${source.name}/${folder}/${file}`, box });
        images++;
      }
    };
    await cutInto('train/good', bands.train, counts.train);
    await cutInto('test/good', bands.test, counts.good);

    for (const kind of REAL_DEFECT_KINDS) {
      const folder = `test/${kind}`;
      const imageDir = join(dir, 'test', kind);
      const maskDir = join(dir, 'ground_truth', kind);
      await mkdir(imageDir, { recursive: true });
      await mkdir(maskDir, { recursive: true });
      tiles[folder] = [];
      for (let i = 0; i < counts.perDefect; i++) {
        const rng = createRng(hashSeed(seed, source.name, folder, i));
        const box = placeBox(bands.test, source.crop, rng);
        const tile = await cutTile(photo, box, size);
        const others = foreignSources.filter((s) => s.name !== source.name);
        const other = rng.pick(others);
        const otherPhoto = photos.get(other.name)!;
        const otherBox = placeBox({ left: 0, top: 0, width: otherPhoto.width, height: otherPhoto.height }, other.crop, rng);
        const foreign = await cutTile(otherPhoto, otherBox, size);
        const mask = paintDefect(kind, tile, rng, foreign);
        const file = `${pad(i)}.png`;
        const maskFile = `${pad(i)}_mask.png`;
        await writeTile(join(imageDir, file), tile);
        await writeMask(join(maskDir, maskFile), mask, size);
        let area = 0;
        for (const v of mask) area += v;
        tiles[folder].push({
          file: `${source.name}/${folder}/${file}`,
          box,
          mask: `${source.name}/ground_truth/${kind}/${maskFile}`,
          ...(kind === 'patch' ? { foreign: other.name } : {}),
          area: Number((area / (size * size)).toFixed(4)),
        });
        images++;
        masks++;
      }
    }
    manifestClasses.push({
      name: source.name,
      aptPackage: source.aptPackage,
      file: source.file,
      ...(source.member ? { member: source.member } : {}),
      description: source.description,
      licence: source.licence,
      photo: { width: photo.width, height: photo.height, sha256: photo.sha256 },
      crop: source.crop,
      bands,
      tiles,
    });
  }

  const manifest = {
    generator: 'bench/real-textures/build.ts',
    set,
    arguments: { size, seed, ...counts },
    trainFraction: TRAIN_FRACTION,
    defects: REAL_DEFECT_KINDS,
    classes: manifestClasses,
  };
  await writeFile(join(root, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  return { root, set, classes: sources.map((s) => s.name), images, masks };
}

function selectSources(setSources: readonly TextureSource[], names: readonly string[] | undefined): TextureSource[] {
  if (!names || names.length === 0) return [...setSources];
  return names.map((n) => {
    const s = setSources.find((t) => t.name === n);
    if (!s) throw new RealTexturesError('E_ARGUMENT', `unknown class '${n}'; classes of this set are ${setSources.map((t) => t.name).join(', ')}`);
    return s;
  });
}

/** Creates `root`, or empties it when it holds an earlier build; refuses any other non-empty folder. */
async function prepareOut(root: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    await mkdir(root, { recursive: true });
    return;
  }
  if (entries.length === 0) return;
  if (!entries.includes(MANIFEST)) {
    throw new RealTexturesError('E_ARGUMENT', `${root}: folder is not empty and holds no ${MANIFEST}; choose an empty or new --out`);
  }
  for (const e of entries) await rm(join(root, e), { recursive: true, force: true });
}

/** A crop×crop box at a uniformly random position inside `band`. */
function placeBox(band: Box, crop: number, rng: Rng): Box {
  return {
    left: band.left + rng.int(0, band.width - crop),
    top: band.top + rng.int(0, band.height - crop),
    width: crop,
    height: crop,
  };
}

/** The photo region `box`, resized (Lanczos, anti-aliased) to size×size, as float RGB. */
async function cutTile(photo: Photo, box: Box, size: number): Promise<Tile> {
  const region = new Uint8Array(box.width * box.height * 3);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * photo.width + box.left) * 3;
    region.set(photo.data.subarray(from, from + box.width * 3), y * box.width * 3);
  }
  const raw = await sharp(region, { raw: { width: box.width, height: box.height, channels: 3 } })
    .resize(size, size, { kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  return { data: Float32Array.from(raw), size };
}

async function writeTile(path: string, tile: Tile): Promise<void> {
  const bytes = new Uint8Array(tile.data.length);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.min(255, Math.max(0, Math.round(tile.data[i])));
  await writePng(path, { data: bytes, width: tile.size, height: tile.size, channels: 3 });
}

async function writeMask(path: string, mask: Uint8Array, size: number): Promise<void> {
  const bytes = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) bytes[i] = mask[i] ? 255 : 0;
  await writePng(path, { data: bytes, width: size, height: size, channels: 1 });
}

const pad = (i: number): string => String(i).padStart(3, '0');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      set: { type: 'string', default: 'main' },
      size: { type: 'string', default: '64' },
      seed: { type: 'string', default: '0' },
      train: { type: 'string', default: '50' },
      good: { type: 'string', default: '20' },
      'per-defect': { type: 'string', default: '4' },
      classes: { type: 'string' },
    },
  });
  if (!values.out) throw new RealTexturesError('E_ARGUMENT', 'missing --out DIR (where to write the data set)');
  const started = performance.now();
  const result = await buildRealTextures({
    out: values.out,
    set: values.set as TextureSetName,
    size: Number(values.size),
    seed: Number(values.seed),
    train: Number(values.train),
    good: Number(values.good),
    perDefect: Number(values['per-defect']),
    classes: values.classes?.split(',').filter(Boolean),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`wrote ${result.images} images and ${result.masks} masks of ${result.classes.length} classes of the ${result.set} set (${result.classes.join(', ')}) at ${values.size}² to ${result.root} in ${seconds} s`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    const e = err as Error & { code?: string };
    console.error(`error: ${e.message}${e.code ? ` [${e.code}]` : ''}`);
    process.exit(1);
  });
}

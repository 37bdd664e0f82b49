/**
 * The real photographs behind each class: which Debian package installs them, where, at which
 * scale tiles are cut, and their decoding to 8-bit RGB. One photo per class; its train and test
 * tiles come from two disjoint bands of it (see `regions`).
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { RealTexturesError } from './errors.ts';
import { readZipMember } from './zip-member.ts';

/** One class's source photo. */
export interface TextureSource {
  /** Class folder name. */
  name: string;
  /** Debian package (bookworm) that installs the file. */
  aptPackage: string;
  /** Installed path: the photo, or the zip archive (.pk3) holding it. */
  file: string;
  /** Member inside `file` when that is an archive. */
  member?: string;
  /** Side of the square photo region cut for one tile, in photo pixels (then resized to the tile size). */
  crop: number;
  /** What the photo shows. */
  description: string;
  /** Licence as the package's /usr/share/doc/<package>/copyright states it for this file. */
  licence: string;
}

const UFOAI_PK3 = '/usr/share/games/ufoai/base/0textures.pk3';
const MYPAINT = '/usr/share/mypaint/backgrounds';

/** The main set's classes, in output order. */
export const TEXTURE_SOURCES: readonly TextureSource[] = [
  {
    name: 'wood',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_ctp1/wood_b_9.jpg',
    crop: 128,
    description: 'photo of a cherry-coloured wooden board, grain running across (512×512)',
    licence: 'GPL-2 (UFO:AI team and contributors)',
  },
  {
    name: 'concrete',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_ctp1/concrete_g_4.jpg',
    crop: 256,
    description: 'photo of light grey concrete with fine aggregate and a few pits (1024×1024)',
    licence: 'GPL-2 (UFO:AI team and contributors)',
  },
  {
    name: 'grass',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_ctp1/grass_g_7.jpg',
    crop: 256,
    description: 'photo of a lawn seen from above (1024×1024)',
    licence: 'GPL-2 (UFO:AI team and contributors)',
  },
  {
    name: 'cork',
    aptPackage: 'mypaint-data-extras',
    file: `${MYPAINT}/ramon/HR_Cork.png`,
    crop: 128,
    description: 'scan of a cork board (512×512)',
    licence: 'CC0-1.0 (Ramón Miranda, 2010)',
  },
  {
    name: 'canvas',
    aptPackage: 'mypaint-data-extras',
    file: `${MYPAINT}/ramon/HR_Canvas 01.png`,
    crop: 128,
    description: 'scan of white woven painting canvas (512×512)',
    licence: 'CC0-1.0 (Ramón Miranda, 2010)',
  },
  {
    name: 'paper',
    aptPackage: 'mypaint-data-extras',
    file: `${MYPAINT}/mrmamurk/mamurk_a_1.png`,
    crop: 192,
    description: 'scan of grey fibrous drawing paper (960×768)',
    licence: 'CC0-1.0 (MrMamurk, 2011)',
  },
];

/**
 * The held-out set: other photos, of other materials where the packages have them, for an
 * independent check of a detector developed on the main set. Chosen only on whether each file
 * is a suitable photograph (README.md, "Held-out set"), never on a detector's results on it.
 */
export const HOLDOUT_SOURCES: readonly TextureSource[] = [
  {
    name: 'brick',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_mattn/wall_bricks005.jpg',
    crop: 256,
    description: 'photo of a weathered brown brick wall with light mortar joints (1024×512)',
    licence: 'GPL-2+ (UFO:AI team and contributors)',
  },
  {
    name: 'rock',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_mattn/rock004.png',
    crop: 256,
    description: 'photo of a pale pinkish-grey fractured rock face (1024×768)',
    licence: 'GPL-2+ (UFO:AI team and contributors)',
  },
  {
    name: 'stone',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_mattn/stone002.png',
    crop: 128,
    description: 'photo of a grey granular stone surface with darker spots and traces of lichen (512×512)',
    licence: 'GPL-2+ (UFO:AI team and contributors)',
  },
  {
    name: 'soil',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_ctp1/dirt_01.jpg',
    crop: 128,
    description: 'photo of reddish-brown crumbly soil with fine dry cracks, from above (512×512)',
    licence: 'GPL-2 (UFO:AI team and contributors)',
  },
  {
    name: 'paint',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_mattn/rust.jpg',
    crop: 128,
    description: 'photo of yellow paint flaking off a grey weathered surface (512×512)',
    licence: 'GPL-2+ (UFO:AI team and contributors)',
  },
  {
    name: 'planks',
    aptPackage: 'ufoai-textures',
    file: UFOAI_PK3,
    member: 'textures/tex_ctp1/wood_b_6.jpg',
    crop: 128,
    description: 'photo of weathered grey wooden boards, grain running down, with real scratches (512×512)',
    licence: 'GPL-2 (UFO:AI team and contributors)',
  },
];

/** The named sets `build.ts --set` takes; `main` is `TEXTURE_SOURCES`. */
export const TEXTURE_SETS = { main: TEXTURE_SOURCES, holdout: HOLDOUT_SOURCES } as const satisfies Record<string, readonly TextureSource[]>;

/** A set's name. */
export type TextureSetName = keyof typeof TEXTURE_SETS;

/** A decoded photo: 8-bit RGB, HWC. */
export interface Photo {
  data: Uint8Array;
  width: number;
  height: number;
  /** SHA-256 of the encoded file as installed (the archive member's bytes for a .pk3). */
  sha256: string;
}

/** The install command for the packages of `sources`. */
export function aptCommand(sources: readonly TextureSource[]): string {
  return `apt-get install -y --no-install-recommends ${[...new Set(sources.map((s) => s.aptPackage))].join(' ')}`;
}

/** Reads and decodes a class's photo from its installed path. */
export async function loadPhoto(source: TextureSource): Promise<Photo> {
  try {
    await access(source.file);
  } catch {
    throw new RealTexturesError(
      'E_SOURCE_MISSING',
      `${source.file}: not found (class '${source.name}'); it comes with the Debian package ${source.aptPackage}: ${aptCommand([source])}`,
    );
  }
  const bytes = source.member ? await readZipMember(source.file, source.member) : await readFile(source.file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const where = source.member ? `${source.file}:${source.member}` : source.file;
  try {
    const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, sha256 };
  } catch (err) {
    throw new RealTexturesError('E_SOURCE_FORMAT', `${where}: cannot decode the photo of class '${source.name}': ${(err as Error).message}`);
  }
}

/** A rectangle of a photo, in photo pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Fraction of the photo's longer side given to training tiles; the rest is the test band. */
export const TRAIN_FRACTION = 0.6;

/**
 * The two disjoint bands of a photo: the first 60 % of its longer side for train tiles, the
 * rest for test tiles. A tile lies wholly inside one band, so no train pixel is ever a test pixel.
 */
export function regions(photo: Photo, crop: number): { train: Box; test: Box } {
  const horizontal = photo.width >= photo.height;
  const long = horizontal ? photo.width : photo.height;
  const short = horizontal ? photo.height : photo.width;
  const cut = Math.round(long * TRAIN_FRACTION);
  if (cut < crop || long - cut < crop || short < crop) {
    throw new RealTexturesError('E_SOURCE_FORMAT', `photo ${photo.width}×${photo.height} is too small for ${crop}-px tiles in two bands`);
  }
  return horizontal
    ? { train: { left: 0, top: 0, width: cut, height: short }, test: { left: cut, top: 0, width: long - cut, height: short } }
    : { train: { left: 0, top: 0, width: short, height: cut }, test: { left: 0, top: cut, width: short, height: long - cut } };
}

/**
 * The dataset model every reader produces, and the file-system rules they share: which files
 * are images, how paths are kept inside the dataset root, and how bad input is reported.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { basename, extname, join, relative, sep } from 'node:path';
import { isImageName } from '@pmamba/protocol';
import { DataError, DatasetLayoutError, handleBadInput, stderrWarning } from './errors.ts';
import type { BadInputPolicy, DataWarning, WarningHandler } from './errors.ts';
import type { MaskThreshold } from './mask.ts';

/** On-disk layouts we read. */
export type DatasetFormat = 'mvtec' | 'visa' | 'mvtec-ad2' | 'btad' | 'folder';

/** Which part of a class a sample belongs to. */
export type Split = 'train' | 'validation' | 'test';

/** One image of a dataset. */
export interface Sample {
  className: string;
  split: Split;
  /** 0 normal, 1 anomalous. */
  label: 0 | 1;
  /** Defect type as the dataset names it ('good' / 'ok' for normal images). */
  defect: string;
  /** Absolute path of the image (symlinks resolved, inside the root). */
  image: string;
  /** Absolute path of the ground-truth mask; absent for normal images and mask-less datasets. */
  mask?: string;
  /** How the mask's grey values become labels. */
  maskThreshold: MaskThreshold;
  /** The image path relative to the root, '/'-separated: a stable key for shards and reports. */
  id: string;
}

/** The samples of one class. */
export interface ClassIndex {
  name: string;
  train: Sample[];
  /** Defect-free held-out images where the dataset ships them (MVTec AD 2), else empty. */
  validation: Sample[];
  test: Sample[];
  /** True when anomalous test images carry pixel masks (pixel metrics are possible). */
  pixelLabels: boolean;
}

/** A read dataset: classes sorted by name, samples sorted by path. */
export interface DatasetIndex {
  format: DatasetFormat;
  /** Real (symlink-resolved) absolute root. */
  root: string;
  classes: ClassIndex[];
  /** Problems skipped under policy 'skip' while reading. */
  warnings: DataWarning[];
}

/** Options every reader takes. */
export interface ReadOptions {
  /** Bad files and classes: throw ('fail', default) or drop them with a warning ('skip'). */
  policy?: BadInputPolicy;
  /** Receives each skipped problem. Default: a line on stderr. */
  onWarning?: WarningHandler;
  /** Read only these classes (names as on disk). Default: all. */
  classes?: readonly string[];
}

/** File name without its extension. */
export function stem(name: string): string {
  const e = extname(name);
  return e ? name.slice(0, -e.length) : name;
}

/** Code-point order: the same on every machine and locale. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Shared state of one read: the real root, the policy and the collected warnings. */
export class ReadContext {
  readonly root: string;
  readonly policy: BadInputPolicy;
  readonly warnings: DataWarning[] = [];
  private readonly onWarning: WarningHandler;

  private constructor(root: string, options: ReadOptions) {
    this.root = root;
    this.policy = options.policy ?? 'fail';
    this.onWarning = options.onWarning ?? stderrWarning;
  }

  /** Resolves the root (which may itself be a symlink) and checks it is a directory. */
  static async open(root: string, options: ReadOptions = {}): Promise<ReadContext> {
    let real: string;
    try {
      real = await realpath(root);
    } catch {
      throw new DatasetLayoutError('E_LAYOUT', `${root}: dataset root does not exist`, root);
    }
    if (!(await stat(real)).isDirectory()) {
      throw new DatasetLayoutError('E_LAYOUT', `${root}: dataset root is not a directory`, root);
    }
    return new ReadContext(real, options);
  }

  /** Applies the policy to one problem: throws under 'fail', records and reports under 'skip'. */
  bad(err: DataError): void {
    handleBadInput(err, this.policy, (w) => {
      this.warnings.push(w);
      this.onWarning(w);
    });
  }

  /** The '/'-separated path of `abs` relative to the root. */
  id(abs: string): string {
    return relative(this.root, abs).split(sep).join('/');
  }

  /** One sample of class `className`; its id is the image's path relative to the root. */
  sample(className: string, image: string, split: Sample['split'], defect: string, label: 0 | 1, mask?: string): Sample {
    return { className, split, label, defect, image, ...(mask ? { mask } : {}), maskThreshold: 'half', id: this.id(image) };
  }

  /**
   * Resolves a path under the root, following symlinks. Returns undefined when it does not
   * exist; throws E_PATH_ESCAPE (through the policy, so undefined under 'skip') when it
   * resolves outside the root.
   */
  async resolve(path: string): Promise<string | undefined> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      return undefined;
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      this.bad(new DatasetLayoutError('E_PATH_ESCAPE', `${path}: resolves to ${real}, outside the dataset root ${this.root}`, path));
      return undefined;
    }
    return real;
  }

  /** True when `path` is (or links to) a directory inside the root. */
  async isDir(path: string): Promise<boolean> {
    const real = await this.resolve(path);
    if (!real) return false;
    return (await stat(real)).isDirectory();
  }

  /** The real path of `path` when it is (or links to) a regular file inside the root. */
  async file(path: string): Promise<string | undefined> {
    const real = await this.resolve(path);
    if (!real) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  }

  /** Names of the subdirectories of `dir` (inside the root), sorted. Missing dir → []. */
  async subdirs(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const e of await this.entries(dir)) {
      if (e.isDirectory() || (e.isSymbolicLink() && (await this.isDir(join(dir, e.name))))) out.push(e.name);
    }
    return out;
  }

  /**
   * Image files of `dir`, sorted by name, as absolute paths under the real root (a symlinked
   * file keeps its own name, so ids stay unique); symlinks that escape the root go through
   * the policy. Missing dir → [].
   */
  async images(dir: string): Promise<string[]> {
    const realDir = await this.resolve(dir);
    if (!realDir) return [];
    const out: string[] = [];
    for (const e of await this.entries(realDir)) {
      if (!isImageName(e.name)) continue;
      if (e.isFile()) out.push(join(realDir, e.name));
      else if (e.isSymbolicLink()) {
        const real = await this.resolve(join(realDir, e.name));
        if (real && (await stat(real)).isFile()) out.push(join(realDir, e.name));
      }
    }
    return out;
  }

  private async entries(dir: string): Promise<Dirent[]> {
    try {
      return (await readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
    } catch {
      return [];
    }
  }
}

/** Drops classes not asked for; unknown names are a layout error. */
export function selectClasses(found: string[], wanted: readonly string[] | undefined, root: string): string[] {
  if (!wanted) return found;
  const missing = wanted.filter((w) => !found.includes(w));
  if (missing.length > 0) {
    throw new DatasetLayoutError('E_LAYOUT', `${root}: no class named ${missing.join(', ')} (found: ${found.join(', ') || 'none'})`, root);
  }
  return found.filter((f) => wanted.includes(f));
}

/** Applies the empty-class rule: a class without training images is bad input. */
export function keepClass(ctx: ReadContext, cls: ClassIndex, dir: string): boolean {
  if (cls.train.length > 0) return true;
  ctx.bad(new DatasetLayoutError('E_CLASS_EMPTY', `${dir}: class '${cls.name}' has no training images`, dir));
  return false;
}

/**
 * Finds the mask of an image stem in a directory listing: `<stem>_mask.<ext>` first, then
 * `<stem>.<ext>`, any image extension.
 */
export function findMask(masks: ReadonlyMap<string, string>, imageStem: string): string | undefined {
  return masks.get(`${imageStem}_mask`) ?? masks.get(imageStem);
}

/** Lists the mask files of a directory keyed by stem. */
export async function maskMap(ctx: ReadContext, dir: string): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  for (const p of await ctx.images(dir)) {
    const s = stem(basename(p));
    if (!map.has(s)) map.set(s, p);
  }
  return map;
}

/**
 * The samples with the given ids (root-relative image paths, as shards carry them), in the
 * order asked. An unknown id is an E_ARGUMENT error naming it: the plan and the data disagree.
 */
export function samplesById(index: DatasetIndex, ids: readonly string[]): Sample[] {
  const byId = new Map(allSamples(index).map((s) => [s.id, s]));
  return ids.map((id) => {
    const s = byId.get(id);
    if (!s) throw new DataError('E_ARGUMENT', `${index.root}: no sample with id '${id}' (was the shard planned on another dataset?)`, id);
    return s;
  });
}

/** Every sample of a dataset, class by class, train before validation before test. */
export function allSamples(index: DatasetIndex): Sample[] {
  return index.classes.flatMap((c) => [...c.train, ...c.validation, ...c.test]);
}

/**
 * Format detection and the one entry point that reads any supported dataset.
 */
import { join } from 'node:path';
import { DatasetLayoutError } from './errors.ts';
import { ReadContext } from './dataset.ts';
import type { DatasetFormat, DatasetIndex } from './dataset.ts';
import { btadClasses, readBtad } from './btad.ts';
import { readFolder } from './folder.ts';
import type { FolderOptions } from './folder.ts';
import { mvtecAd2Classes, readMvtecAd2 } from './mvtec-ad2.ts';
import { mvtecClasses, readMvtec } from './mvtec.ts';
import { VISA_SPLIT_CSV, readVisa } from './visa.ts';

/** Options of `openDataset`: every reader's options, plus the format. */
export interface OpenDatasetOptions extends FolderOptions {
  /** Layout of the root. Default: 'auto' (detected, see `detectFormat`). */
  format?: DatasetFormat | 'auto';
  /** VisA split CSV relative to the root. Default: 'split_csv/1cls.csv'. */
  splitCsv?: string;
}

/**
 * Guesses a root's layout: a VisA split CSV → 'visa'; class folders with `test_public` →
 * 'mvtec-ad2'; with `train/good` → 'mvtec'; with `train/ok` → 'btad'; a `good` folder here or
 * one level down → 'folder'. Anything else is an E_LAYOUT error that lists what was looked for.
 */
export async function detectFormat(root: string, splitCsv = VISA_SPLIT_CSV): Promise<DatasetFormat> {
  // Detection only looks; escaping symlinks are judged by the reader under the caller's policy.
  const ctx = await ReadContext.open(root, { policy: 'skip', onWarning: () => undefined });
  if (await ctx.file(join(ctx.root, splitCsv))) return 'visa';
  if ((await mvtecAd2Classes(ctx)).length > 0) return 'mvtec-ad2';
  if ((await mvtecClasses(ctx)).length > 0) return 'mvtec';
  if ((await btadClasses(ctx)).length > 0) return 'btad';
  if (await ctx.isDir(join(ctx.root, 'good'))) return 'folder';
  for (const d of await ctx.subdirs(ctx.root)) if (await ctx.isDir(join(ctx.root, d, 'good'))) return 'folder';
  throw new DatasetLayoutError(
    'E_LAYOUT',
    `${root}: cannot tell the dataset layout (looked for ${splitCsv}, <class>/train/good, <class>/test_public, <class>/train/ok, good/); pass --format`,
    root,
  );
}

/** Reads a dataset root in the given (or detected) format. */
export async function openDataset(root: string, options: OpenDatasetOptions = {}): Promise<DatasetIndex> {
  const format = !options.format || options.format === 'auto' ? await detectFormat(root, options.splitCsv) : options.format;
  switch (format) {
    case 'mvtec':
      return readMvtec(root, options);
    case 'mvtec-ad2':
      return readMvtecAd2(root, options);
    case 'btad':
      return readBtad(root, options);
    case 'visa':
      return readVisa(root, options);
    case 'folder':
      return readFolder(root, options);
    default:
      throw new DatasetLayoutError('E_LAYOUT', `unknown dataset format '${String(format)}' (mvtec, visa, mvtec-ad2, btad, folder, auto)`);
  }
}

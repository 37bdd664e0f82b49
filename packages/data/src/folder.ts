/**
 * Plain folder datasets, for data that follows no benchmark's layout. One class looks like
 *   <class>/good/*            normal images (training; a share is held out for testing)
 *   <class>/<abnormal>/*      one folder per defect type (test only)
 *   <class>/masks/<abnormal>/<name>[_mask].png  or  <class>/masks/<name>[_mask].png  (optional)
 *   <class>/good_test/*       optional normal test images (then nothing is held out)
 * The root is either one such class folder or a folder of them. Folder names are options.
 */
import { basename, join } from 'node:path';
import { DatasetLayoutError } from './errors.ts';
import { ReadContext, findMask, keepClass, maskMap, selectClasses, stem } from './dataset.ts';
import type { ClassIndex, DatasetIndex, ReadOptions, Sample } from './dataset.ts';
import { createRng, hashSeed } from './rng.ts';

/** Options of `readFolder`. */
export interface FolderOptions extends ReadOptions {
  /** Folder of normal images. Default: 'good'. */
  normalDir?: string;
  /** Folders of anomalous images. Default: every other subfolder except the mask and normal-test folders. */
  abnormalDirs?: readonly string[];
  /** Folder of masks. Default: 'masks' (or 'ground_truth') when present; without one, no pixel labels. */
  maskDir?: string;
  /** Folder of normal test images. Default: 'good_test' when present, else a share of normalDir is held out. */
  normalTestDir?: string;
  /** Share of normal images held out for testing when there is no normal test folder. Default: 0.2. */
  normalTestRatio?: number;
  /** Seed of the hold-out draw. Default: 0. */
  seed?: number;
  /** Class name when the root itself is the class folder. Default: the root's folder name. */
  name?: string;
}

async function readClass(ctx: ReadContext, dir: string, name: string, options: FolderOptions): Promise<ClassIndex> {
  const normalDir = options.normalDir ?? 'good';
  const subdirs = await ctx.subdirs(dir);
  const maskDir = options.maskDir ?? ['masks', 'ground_truth'].find((d) => subdirs.includes(d));
  const normalTestDir = options.normalTestDir ?? (subdirs.includes('good_test') ? 'good_test' : undefined);
  const abnormalDirs = options.abnormalDirs ?? subdirs.filter((d) => d !== normalDir && d !== maskDir && d !== normalTestDir);
  for (const d of abnormalDirs) {
    if (!subdirs.includes(d)) throw new DatasetLayoutError('E_LAYOUT', `${join(dir, d)}: abnormal folder does not exist`, join(dir, d));
  }
  const sample = (image: string, split: Sample['split'], defect: string, label: 0 | 1, mask?: string): Sample =>
    ctx.sample(name, image, split, defect, label, mask);

  const normals = await ctx.images(join(dir, normalDir));
  let train = normals;
  let normalTest: string[];
  if (normalTestDir) {
    normalTest = await ctx.images(join(dir, normalTestDir));
  } else {
    const ratio = options.normalTestRatio ?? 0.2;
    if (!(ratio >= 0 && ratio < 1)) throw new DatasetLayoutError('E_LAYOUT', `normalTestRatio ${ratio} must be in [0, 1)`);
    const order = createRng(hashSeed(options.seed ?? 0, name)).shuffle(normals.map((_, i) => i));
    const held = new Set(order.slice(0, Math.round(normals.length * ratio)));
    train = normals.filter((_, i) => !held.has(i));
    normalTest = normals.filter((_, i) => held.has(i));
  }
  const test = normalTest.map((p) => sample(p, 'test', normalDir, 0));
  const flat = maskDir ? await maskMap(ctx, join(dir, maskDir)) : new Map<string, string>();
  for (const defect of abnormalDirs) {
    const perDefect = maskDir ? await maskMap(ctx, join(dir, maskDir, defect)) : new Map<string, string>();
    for (const p of await ctx.images(join(dir, defect))) {
      if (!maskDir) {
        test.push(sample(p, 'test', defect, 1));
        continue;
      }
      const s = stem(basename(p));
      const mask = findMask(perDefect, s) ?? findMask(flat, s);
      if (!mask) {
        ctx.bad(new DatasetLayoutError('E_MASK_MISSING', `${p}: anomalous image has no mask in ${join(dir, maskDir, defect)} or ${join(dir, maskDir)} (expected ${s}_mask.png or ${s}.png)`, p));
        continue;
      }
      test.push(sample(p, 'test', defect, 1, mask));
    }
  }
  return { name, train: train.map((p) => sample(p, 'train', normalDir, 0)), validation: [], test, pixelLabels: maskDir !== undefined };
}

/** Reads a plain folder dataset: one class folder, or a folder of class folders. */
export async function readFolder(root: string, options: FolderOptions = {}): Promise<DatasetIndex> {
  const ctx = await ReadContext.open(root, options);
  const normalDir = options.normalDir ?? 'good';
  const classes: ClassIndex[] = [];
  if (await ctx.isDir(join(ctx.root, normalDir))) {
    const name = options.name ?? basename(ctx.root);
    const cls = await readClass(ctx, ctx.root, name, options);
    if (keepClass(ctx, cls, ctx.root)) classes.push(cls);
    return { format: 'folder', root: ctx.root, classes, warnings: ctx.warnings };
  }
  const found: string[] = [];
  for (const d of await ctx.subdirs(ctx.root)) if (await ctx.isDir(join(ctx.root, d, normalDir))) found.push(d);
  if (found.length === 0) {
    throw new DatasetLayoutError('E_LAYOUT', `${root}: no '${normalDir}' folder of normal images here or in any subfolder`, root);
  }
  for (const name of selectClasses(found, options.classes, root)) {
    const cls = await readClass(ctx, join(ctx.root, name), name, options);
    if (keepClass(ctx, cls, join(ctx.root, name))) classes.push(cls);
  }
  return { format: 'folder', root: ctx.root, classes, warnings: ctx.warnings };
}

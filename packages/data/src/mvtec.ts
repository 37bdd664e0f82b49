/**
 * MVTec AD reader. Layout, per class folder under the root:
 *   <class>/train/good/*.png
 *   <class>/test/good/*.png, <class>/test/<defect>/*.png
 *   <class>/ground_truth/<defect>/<name>_mask.png
 * Any folder with a `train/good` subfolder is a class, so a partial download or our
 * synthetic data set reads the same way.
 */
import { basename, join } from 'node:path';
import { DatasetLayoutError } from './errors.ts';
import { ReadContext, findMask, keepClass, maskMap, selectClasses, stem } from './dataset.ts';
import type { ClassIndex, DatasetIndex, ReadOptions, Sample } from './dataset.ts';

/** The normal-image folder name of MVTec AD. */
const GOOD = 'good';

/** Class folder names under an MVTec-layout root (folders holding `train/good`). */
export async function mvtecClasses(ctx: ReadContext): Promise<string[]> {
  const out: string[] = [];
  for (const d of await ctx.subdirs(ctx.root)) {
    if (await ctx.isDir(join(ctx.root, d, 'train', GOOD))) out.push(d);
  }
  return out;
}

/** Reads one MVTec AD class folder. */
async function readClass(ctx: ReadContext, name: string): Promise<ClassIndex> {
  const dir = join(ctx.root, name);
  const sample = (image: string, split: Sample['split'], defect: string, mask?: string): Sample =>
    ctx.sample(name, image, split, defect, defect === GOOD ? 0 : 1, mask);
  const train = (await ctx.images(join(dir, 'train', GOOD))).map((p) => sample(p, 'train', GOOD));
  const test: Sample[] = [];
  for (const defect of await ctx.subdirs(join(dir, 'test'))) {
    const images = await ctx.images(join(dir, 'test', defect));
    if (defect === GOOD) {
      test.push(...images.map((p) => sample(p, 'test', GOOD)));
      continue;
    }
    const masks = await maskMap(ctx, join(dir, 'ground_truth', defect));
    for (const p of images) {
      const s = stem(basename(p));
      const mask = findMask(masks, s);
      if (!mask) {
        const expected = join(dir, 'ground_truth', defect, `${s}_mask.png`);
        ctx.bad(new DatasetLayoutError('E_MASK_MISSING', `${p}: anomalous test image has no mask (expected ${expected})`, p));
        continue;
      }
      test.push(sample(p, 'test', defect, mask));
    }
  }
  return { name, train, validation: [], test, pixelLabels: true };
}

/** Reads an MVTec AD root (or any folder with the same layout). */
export async function readMvtec(root: string, options: ReadOptions = {}): Promise<DatasetIndex> {
  const ctx = await ReadContext.open(root, options);
  const found = await mvtecClasses(ctx);
  if (found.length === 0) {
    throw new DatasetLayoutError('E_LAYOUT', `${root}: no MVTec AD classes found (expected <class>/train/good/ folders)`, root);
  }
  const classes: ClassIndex[] = [];
  for (const name of selectClasses(found, options.classes, root)) {
    const cls = await readClass(ctx, name);
    if (keepClass(ctx, cls, join(ctx.root, name))) classes.push(cls);
  }
  return { format: 'mvtec', root: ctx.root, classes, warnings: ctx.warnings };
}

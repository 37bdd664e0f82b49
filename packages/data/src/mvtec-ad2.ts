/**
 * MVTec AD 2 reader. Layout, per class folder under the root:
 *   <class>/train/good/*.png, <class>/validation/good/*.png
 *   <class>/test_public/good/*.png, <class>/test_public/bad/*.png
 *   <class>/test_public/ground_truth/bad/<name>_mask.png
 * `test_private` and `test_private_mixed` carry no public ground truth (MVTec scores them on
 * its server), so they are not part of the index.
 */
import { basename, join } from 'node:path';
import { DatasetLayoutError } from './errors.ts';
import { ReadContext, findMask, keepClass, maskMap, selectClasses, stem } from './dataset.ts';
import type { ClassIndex, DatasetIndex, ReadOptions, Sample } from './dataset.ts';

/** Class folder names under an MVTec AD 2 root (folders holding `train/good` and `test_public`). */
export async function mvtecAd2Classes(ctx: ReadContext): Promise<string[]> {
  const out: string[] = [];
  for (const d of await ctx.subdirs(ctx.root)) {
    if ((await ctx.isDir(join(ctx.root, d, 'train', 'good'))) && (await ctx.isDir(join(ctx.root, d, 'test_public')))) out.push(d);
  }
  return out;
}

async function readClass(ctx: ReadContext, name: string): Promise<ClassIndex> {
  const dir = join(ctx.root, name);
  const sample = (image: string, split: Sample['split'], label: 0 | 1, mask?: string): Sample =>
    ctx.sample(name, image, split, label === 0 ? 'good' : 'bad', label, mask);
  const train = (await ctx.images(join(dir, 'train', 'good'))).map((p) => sample(p, 'train', 0));
  const validation = (await ctx.images(join(dir, 'validation', 'good'))).map((p) => sample(p, 'validation', 0));
  const test = (await ctx.images(join(dir, 'test_public', 'good'))).map((p) => sample(p, 'test', 0));
  const masks = await maskMap(ctx, join(dir, 'test_public', 'ground_truth', 'bad'));
  for (const p of await ctx.images(join(dir, 'test_public', 'bad'))) {
    const s = stem(basename(p));
    const mask = findMask(masks, s);
    if (!mask) {
      const expected = join(dir, 'test_public', 'ground_truth', 'bad', `${s}_mask.png`);
      ctx.bad(new DatasetLayoutError('E_MASK_MISSING', `${p}: anomalous test image has no mask (expected ${expected})`, p));
      continue;
    }
    test.push(sample(p, 'test', 1, mask));
  }
  return { name, train, validation, test, pixelLabels: true };
}

/** Reads an MVTec AD 2 root. */
export async function readMvtecAd2(root: string, options: ReadOptions = {}): Promise<DatasetIndex> {
  const ctx = await ReadContext.open(root, options);
  const found = await mvtecAd2Classes(ctx);
  if (found.length === 0) {
    throw new DatasetLayoutError('E_LAYOUT', `${root}: no MVTec AD 2 classes found (expected <class>/train/good/ and <class>/test_public/)`, root);
  }
  const classes: ClassIndex[] = [];
  for (const name of selectClasses(found, options.classes, root)) {
    const cls = await readClass(ctx, name);
    if (keepClass(ctx, cls, join(ctx.root, name))) classes.push(cls);
  }
  return { format: 'mvtec-ad2', root: ctx.root, classes, warnings: ctx.warnings };
}

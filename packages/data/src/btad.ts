/**
 * BTAD (beanTech Anomaly Detection) reader. Layout, per product folder (01, 02, 03):
 *   <class>/train/ok/*.{bmp,png}
 *   <class>/test/ok/*, <class>/test/ko/*
 *   <class>/ground_truth/ko/<name>.{png,bmp}   (same stem as the image; `_mask` also accepted)
 */
import { basename, join } from 'node:path';
import { DatasetLayoutError } from './errors.ts';
import { ReadContext, findMask, keepClass, maskMap, selectClasses, stem } from './dataset.ts';
import type { ClassIndex, DatasetIndex, ReadOptions, Sample } from './dataset.ts';

/** Class folder names under a BTAD root (folders holding `train/ok`). */
export async function btadClasses(ctx: ReadContext): Promise<string[]> {
  const out: string[] = [];
  for (const d of await ctx.subdirs(ctx.root)) {
    if (await ctx.isDir(join(ctx.root, d, 'train', 'ok'))) out.push(d);
  }
  return out;
}

async function readClass(ctx: ReadContext, name: string): Promise<ClassIndex> {
  const dir = join(ctx.root, name);
  const sample = (image: string, split: Sample['split'], label: 0 | 1, mask?: string): Sample =>
    ctx.sample(name, image, split, label === 0 ? 'ok' : 'ko', label, mask);
  const train = (await ctx.images(join(dir, 'train', 'ok'))).map((p) => sample(p, 'train', 0));
  const test = (await ctx.images(join(dir, 'test', 'ok'))).map((p) => sample(p, 'test', 0));
  const masks = await maskMap(ctx, join(dir, 'ground_truth', 'ko'));
  for (const p of await ctx.images(join(dir, 'test', 'ko'))) {
    const s = stem(basename(p));
    const mask = findMask(masks, s);
    if (!mask) {
      const expected = join(dir, 'ground_truth', 'ko', `${s}.png`);
      ctx.bad(new DatasetLayoutError('E_MASK_MISSING', `${p}: anomalous test image has no mask (expected ${expected})`, p));
      continue;
    }
    test.push(sample(p, 'test', 1, mask));
  }
  return { name, train, validation: [], test, pixelLabels: true };
}

/** Reads a BTAD root. */
export async function readBtad(root: string, options: ReadOptions = {}): Promise<DatasetIndex> {
  const ctx = await ReadContext.open(root, options);
  const found = await btadClasses(ctx);
  if (found.length === 0) {
    throw new DatasetLayoutError('E_LAYOUT', `${root}: no BTAD classes found (expected <class>/train/ok/ folders)`, root);
  }
  const classes: ClassIndex[] = [];
  for (const name of selectClasses(found, options.classes, root)) {
    const cls = await readClass(ctx, name);
    if (keepClass(ctx, cls, join(ctx.root, name))) classes.push(cls);
  }
  return { format: 'btad', root: ctx.root, classes, warnings: ctx.warnings };
}

/**
 * VisA reader, driven by its split CSV (default `split_csv/1cls.csv`, the one-class protocol
 * that unified multi-class methods report). The CSV has a header and the columns
 *   object,split,label,image,mask
 * e.g. `candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png`;
 * paths are relative to the root, `label` is `normal` or `anomaly`, `mask` is empty for normal
 * images. VisA masks mark defects with small non-zero values, so they binarise as `nonzero`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetLayoutError } from './errors.ts';
import { ReadContext, byName, keepClass, selectClasses } from './dataset.ts';
import type { ClassIndex, DatasetIndex, ReadOptions, Split } from './dataset.ts';

/** Options of `readVisa`. */
export interface VisaOptions extends ReadOptions {
  /** Split CSV relative to the root. Default: 'split_csv/1cls.csv'. */
  splitCsv?: string;
}

/** The default VisA split file (one-class protocol). */
export const VISA_SPLIT_CSV = 'split_csv/1cls.csv';

/** Parses CSV text into rows of fields (RFC 4180 quoting; CRLF or LF line ends). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const SPLITS: Record<string, Split> = { train: 'train', test: 'test', val: 'validation', validation: 'validation' };

/** Reads a VisA root through its split CSV. */
export async function readVisa(root: string, options: VisaOptions = {}): Promise<DatasetIndex> {
  const ctx = await ReadContext.open(root, options);
  const csvPath = join(ctx.root, options.splitCsv ?? VISA_SPLIT_CSV);
  let text: string;
  try {
    text = await readFile(csvPath, 'utf8');
  } catch {
    throw new DatasetLayoutError(
      'E_SPLIT_CSV',
      `${csvPath}: VisA split CSV not found (VisA ships split_csv/1cls.csv; pass --format folder for other layouts)`,
      csvPath,
    );
  }
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = (rows.shift() ?? []).map((h) => h.trim().toLowerCase());
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new DatasetLayoutError('E_SPLIT_CSV', `${csvPath}: header has no '${name}' column (need object,split,label,image,mask)`, csvPath);
    return i;
  };
  const [cObject, cSplit, cLabel, cImage, cMask] = ['object', 'split', 'label', 'image', 'mask'].map(col);

  const byClass = new Map<string, ClassIndex>();
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const line = `${csvPath}:${r + 2}`;
    const object = row[cObject]?.trim() ?? '';
    const split = SPLITS[row[cSplit]?.trim().toLowerCase() ?? ''];
    const labelText = row[cLabel]?.trim().toLowerCase() ?? '';
    const imageRel = row[cImage]?.trim() ?? '';
    const maskRel = row[cMask]?.trim() ?? '';
    const label = labelText === 'normal' ? 0 : labelText === 'anomaly' ? 1 : undefined;
    if (!object || !split || label === undefined || !imageRel) {
      ctx.bad(new DatasetLayoutError('E_SPLIT_CSV', `${line}: malformed row '${row.join(',')}' (object, split train|test, label normal|anomaly, image are required)`, csvPath));
      continue;
    }
    if (options.classes && !options.classes.includes(object)) continue;
    const image = await ctx.file(join(ctx.root, imageRel));
    if (!image) {
      ctx.bad(new DatasetLayoutError('E_SPLIT_CSV', `${line}: image ${join(ctx.root, imageRel)} does not exist`, join(ctx.root, imageRel)));
      continue;
    }
    let mask: string | undefined;
    if (label === 1) {
      mask = maskRel ? await ctx.file(join(ctx.root, maskRel)) : undefined;
      if (!mask && split === 'test') {
        const where = maskRel ? `${join(ctx.root, maskRel)} does not exist` : 'the CSV gives no mask';
        ctx.bad(new DatasetLayoutError('E_MASK_MISSING', `${image}: anomalous test image has no mask (${where}; ${line})`, image));
        continue;
      }
    }
    let cls = byClass.get(object);
    if (!cls) {
      cls = { name: object, train: [], validation: [], test: [], pixelLabels: true };
      byClass.set(object, cls);
    }
    // VisA masks hold small region numbers, not 0/255: any non-zero value is anomalous.
    cls[split].push({ ...ctx.sample(object, image, split, label === 0 ? 'good' : 'anomaly', label, mask), maskThreshold: 'nonzero' });
  }
  const found = [...byClass.keys()].sort(byName);
  if (found.length === 0 && !options.classes) {
    throw new DatasetLayoutError('E_SPLIT_CSV', `${csvPath}: split CSV lists no usable images`, csvPath);
  }
  const classes: ClassIndex[] = [];
  for (const name of selectClasses(found, options.classes, root)) {
    const cls = byClass.get(name)!;
    for (const list of [cls.train, cls.validation, cls.test]) list.sort((a, b) => byName(a.id, b.id));
    if (keepClass(ctx, cls, csvPath)) classes.push(cls);
  }
  return { format: 'visa', root: ctx.root, classes, warnings: ctx.warnings };
}

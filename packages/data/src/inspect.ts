/**
 * Dataset summaries for `pmamba dataset inspect`: counts per class and split, defect types,
 * mask coverage, image sizes and channels, and every problem found. The first bytes of every
 * image and mask are always checked (a text file named .png is found without decoding); by
 * default only a few image headers per class are parsed; `verify` decodes every image and mask,
 * which finds truncated files and empty masks at the cost of reading the whole dataset.
 */
import { availableParallelism } from 'node:os';
import { DataError, ImageDecodeError } from './errors.ts';
import type { DataWarning } from './errors.ts';
import { checkImageHeader, decodeError, decodeImage, imageInfo, openImage } from './image.ts';
import { allSamples } from './dataset.ts';
import type { ClassIndex, DatasetFormat, DatasetIndex, Sample } from './dataset.ts';

/** Options of `inspectDataset`. */
export interface InspectOptions {
  /** Decode every image and mask (slow on big datasets). Default: false. */
  verify?: boolean;
  /** Without `verify`: image headers parsed per class. Default: 3. */
  headerSample?: number;
  /** Files decoded at once. Default: the number of CPUs. */
  concurrency?: number;
  /** Files whose first bytes are read at once (I/O bound, so more than the CPUs). Default: 32. */
  headerConcurrency?: number;
}

/** Counts and facts about one class. */
export interface ClassSummary {
  name: string;
  train: number;
  validation: number;
  testGood: number;
  testAnomalous: number;
  /** Anomalous test images per defect type. */
  defects: Record<string, number>;
  /** Anomalous test images that have a mask. */
  masks: number;
  pixelLabels: boolean;
  /** 'W×H' → number of checked images of that size. */
  sizes: Record<string, number>;
  /** Checked images that are grey / colour. */
  grey: number;
  colour: number;
  /** Images whose header (or, with verify, pixels) were read. */
  checked: number;
  /** With verify only: defect masks decoded, and how many of them mark no pixel at all. */
  checkedMasks?: number;
  emptyMasks?: number;
}

/** The whole summary; `problems` holds reader warnings plus what inspection found. */
export interface InspectReport {
  root: string;
  format: DatasetFormat;
  verified: boolean;
  classes: ClassSummary[];
  totals: { classes: number; train: number; validation: number; testGood: number; testAnomalous: number };
  problems: DataWarning[];
}

function toWarning(err: unknown): DataWarning {
  if (err instanceof DataError) return { code: err.code, path: err.path, message: err.message };
  throw err;
}

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, worker));
}

/** Every image and mask file of the index, each once, in index order. */
function indexFiles(index: DatasetIndex): { path: string; mask: boolean }[] {
  const files = new Map<string, boolean>();
  for (const s of allSamples(index)) {
    if (!files.has(s.image)) files.set(s.image, false);
    if (s.mask && !files.has(s.mask)) files.set(s.mask, true);
  }
  return [...files].map(([path, mask]) => ({ path, mask }));
}

/** Checks the signature of every file; the problems come back in index order. */
async function checkHeaders(index: DatasetIndex, limit: number): Promise<DataWarning[]> {
  const files = indexFiles(index);
  const found: (DataWarning | undefined)[] = new Array(files.length);
  await pool(files.length, limit, async (i) => {
    try {
      await checkImageHeader(files[i].path, files[i].mask);
    } catch (err) {
      found[i] = toWarning(err);
    }
  });
  return found.filter((w): w is DataWarning => w !== undefined);
}

/** What reading one sample found; `marked` is whether its mask (verify only) marks any pixel. */
interface Checked {
  w: number;
  h: number;
  grey: boolean;
  marked?: boolean;
}

interface ClassCheck {
  verify: boolean;
  headerSample: number;
  limit: number;
  /** Files that failed the signature check: already reported, not decoded again. */
  bad: ReadonlySet<string>;
  problems: DataWarning[];
}

async function checkSample(s: Sample, check: ClassCheck): Promise<Checked> {
  if (!check.verify) {
    const info = await imageInfo(s.image);
    return { w: info.width, h: info.height, grey: info.channels === 1 };
  }
  const img = await decodeImage(s.image);
  const out: Checked = { w: img.width, h: img.height, grey: img.channels === 1 };
  if (s.mask && !check.bad.has(s.mask)) {
    const marked = await verifyMask(s, img.width, img.height, check.problems);
    if (marked !== undefined && s.label === 1) out.marked = marked;
  }
  return out;
}

function summarise(cls: ClassIndex): ClassSummary {
  const anomalous = cls.test.filter((s) => s.label === 1);
  const defects: Record<string, number> = {};
  for (const s of anomalous) defects[s.defect] = (defects[s.defect] ?? 0) + 1;
  return {
    name: cls.name,
    train: cls.train.length,
    validation: cls.validation.length,
    testGood: cls.test.length - anomalous.length,
    testAnomalous: anomalous.length,
    defects,
    masks: anomalous.filter((s) => s.mask).length,
    pixelLabels: cls.pixelLabels,
    sizes: {},
    grey: 0,
    colour: 0,
    checked: 0,
  };
}

async function inspectClass(cls: ClassIndex, check: ClassCheck): Promise<ClassSummary> {
  const summary = summarise(cls);
  const readable = [...cls.train, ...cls.validation, ...cls.test].filter((s) => !check.bad.has(s.image));
  const toCheck = check.verify ? readable : readable.slice(0, check.headerSample);
  const results: (Checked | undefined)[] = new Array(toCheck.length);
  await pool(toCheck.length, check.limit, async (i) => {
    try {
      results[i] = await checkSample(toCheck[i], check);
    } catch (err) {
      check.problems.push(toWarning(err));
    }
  });
  if (check.verify) Object.assign(summary, { checkedMasks: 0, emptyMasks: 0 });
  for (const r of results) {
    if (!r) continue;
    summary.checked++;
    const key = `${r.w}×${r.h}`;
    summary.sizes[key] = (summary.sizes[key] ?? 0) + 1;
    if (r.grey) summary.grey++;
    else summary.colour++;
    if (r.marked !== undefined) summary.checkedMasks!++;
    if (r.marked === false) summary.emptyMasks!++;
  }
  if (summary.grey > 0 && summary.colour > 0) {
    check.problems.push({
      code: 'E_IMAGE_CHANNELS',
      path: undefined,
      message: `class '${cls.name}' mixes grey (${summary.grey}) and colour (${summary.colour}) images; grey ones are expanded to 3 channels`,
    });
  }
  return summary;
}

const IMAGE_METRICS = 'image metrics (I-AUROC, I-AP, I-F1max)';
const PIXEL_METRICS = 'pixel metrics (P-AUROC, P-AP, P-F1max, AU-PRO)';

/**
 * Classes whose benchmark metrics will be undefined (n/a), found from an inspection report:
 * - E_TEST_LABELS: the test set has no normal or no anomalous images (image metrics need
 *   both; pixel metrics need anomalous ones);
 * - E_MASKS_EMPTY (only when the report was made with `verify`, which decodes masks): every
 *   decoded defect mask is all background, so there is no positive pixel.
 * These are warnings about a class, not a file: `path` is undefined. `inspectDataset` already
 * appends them to `report.problems`; this returns them alone.
 */
export function classMetricProblems(report: { readonly classes: readonly ClassSummary[] }): DataWarning[] {
  const out: DataWarning[] = [];
  const add = (code: DataWarning['code'], message: string): void => void out.push({ code, path: undefined, message });
  for (const c of report.classes) {
    const name = `class '${c.name}'`;
    if (c.testGood + c.testAnomalous === 0) {
      add('E_TEST_LABELS', `${name}: no test images: ${IMAGE_METRICS} and ${PIXEL_METRICS} will be n/a for it`);
    } else if (c.testAnomalous === 0) {
      add('E_TEST_LABELS', `${name}: the test set has no anomalous images (${c.testGood} normal): ${IMAGE_METRICS} and ${PIXEL_METRICS} will be n/a for it`);
    } else if (c.testGood === 0) {
      add('E_TEST_LABELS', `${name}: the test set has no normal images (${c.testAnomalous} anomalous): ${IMAGE_METRICS} will be n/a for it`);
    }
    const n = c.checkedMasks ?? 0;
    if (n > 0 && c.emptyMasks === n) {
      const all = n === 1 ? 'its only defect mask is' : `all ${n} defect masks are`;
      add('E_MASKS_EMPTY', `${name}: ${all} empty (black): ${PIXEL_METRICS} will be n/a for it`);
    }
  }
  return out;
}

/** Summarises a read dataset. Never throws for bad files: they become problems. */
export async function inspectDataset(index: DatasetIndex, options: InspectOptions = {}): Promise<InspectReport> {
  const verify = options.verify ?? false;
  const headerProblems = await checkHeaders(index, options.headerConcurrency ?? 32);
  const check: ClassCheck = {
    verify,
    headerSample: options.headerSample ?? 3,
    limit: options.concurrency ?? availableParallelism(),
    bad: new Set(headerProblems.map((p) => p.path!)),
    problems: [...index.warnings, ...headerProblems],
  };
  const classes: ClassSummary[] = [];
  for (const cls of index.classes) classes.push(await inspectClass(cls, check));
  const sum = (f: (c: ClassSummary) => number): number => classes.reduce((a, c) => a + f(c), 0);
  return {
    root: index.root,
    format: index.format,
    verified: verify,
    classes,
    totals: {
      classes: classes.length,
      train: sum((c) => c.train),
      validation: sum((c) => c.validation),
      testGood: sum((c) => c.testGood),
      testAnomalous: sum((c) => c.testAnomalous),
    },
    problems: [...check.problems, ...classMetricProblems({ classes })],
  };
}

/**
 * Decodes a mask the way `loadMask` does (grey, then the sample's threshold) and reports an
 * unreadable one or one whose aspect ratio differs from its image's.
 * @returns whether it marks any pixel; undefined when it cannot be decoded.
 */
async function verifyMask(s: Sample, width: number, height: number, problems: DataWarning[]): Promise<boolean | undefined> {
  const mask = s.mask!;
  try {
    const m = await openImage(mask, true);
    if (m.width * height !== m.height * width) {
      problems.push({
        code: 'E_MASK_UNREADABLE',
        path: mask,
        message: `${mask}: mask is ${m.width}×${m.height} but its image is ${width}×${height} (different aspect ratio)`,
      });
    }
    let grey: Uint8Array;
    try {
      grey = await m.pipeline.removeAlpha().toColourspace('b-w').raw({ depth: 'uchar' }).toBuffer();
    } catch (err) {
      throw decodeError(err, m.bytes, mask, true);
    }
    const cut = s.maskThreshold === 'nonzero' ? 0 : 127;
    return grey.some((v) => v > cut);
  } catch (err) {
    if (err instanceof ImageDecodeError) {
      problems.push({ code: 'E_MASK_UNREADABLE', path: mask, message: err.message.replace(/\bimage\b/, 'mask') });
      return undefined;
    }
    throw err;
  }
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** A plain-text table of the report, for terminals. */
export function formatInspect(report: InspectReport): string {
  const head = ['class', 'train', 'val', 'test ok', 'test bad', 'masks', 'defect types', 'sizes', 'channels'];
  const rows = report.classes.map((c) => [
    c.name,
    String(c.train),
    String(c.validation),
    String(c.testGood),
    String(c.testAnomalous),
    c.pixelLabels ? String(c.masks) + (c.emptyMasks ? ` (${c.emptyMasks} empty)` : '') : 'none',
    Object.entries(c.defects).map(([d, n]) => `${d}:${n}`).join(' ') || '-',
    Object.keys(c.sizes).join(' ') || '?',
    c.grey && c.colour ? 'mixed' : c.grey ? 'grey' : c.colour ? 'rgb' : '?',
  ]);
  const t = report.totals;
  rows.push(['total', String(t.train), String(t.validation), String(t.testGood), String(t.testAnomalous), '', '', '', '']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = new Set([1, 2, 3, 4, 5]);
  const line = (r: string[]): string => r.map((v, i) => pad(v, widths[i], numeric.has(i))).join('  ').trimEnd();
  const out = [
    `${report.root}  (format ${report.format}, ${t.classes} classes${report.verified ? ', every file decoded' : ', file signatures checked, headers sampled'})`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(0, -1).map(line),
    line(widths.map((w) => '-'.repeat(w))),
    line(rows[rows.length - 1]),
  ];
  if (report.problems.length > 0) {
    out.push('', `${report.problems.length} problem(s):`);
    for (const p of report.problems) out.push(`  [${p.code}] ${p.message}`);
  } else {
    out.push('', 'no problems found');
  }
  return out.join('\n');
}

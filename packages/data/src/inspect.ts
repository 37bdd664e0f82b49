/**
 * Dataset summaries for `pmamba dataset inspect`: counts per class and split, defect types,
 * mask coverage, image sizes and channels, and every problem found. By default only a few
 * image headers per class are read; `verify` decodes every image and mask, which finds
 * truncated files at the cost of reading the whole dataset.
 */
import { availableParallelism } from 'node:os';
import { DataError, ImageDecodeError } from './errors.ts';
import type { DataWarning } from './errors.ts';
import { decodeImage, imageInfo } from './image.ts';
import type { DatasetFormat, DatasetIndex, Sample } from './dataset.ts';

/** Options of `inspectDataset`. */
export interface InspectOptions {
  /** Decode every image and mask (slow on big datasets). Default: false. */
  verify?: boolean;
  /** Without `verify`: image headers read per class. Default: 3. */
  headerSample?: number;
  /** Files read at once. Default: the number of CPUs. */
  concurrency?: number;
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

/** Summarises a read dataset. Never throws for bad files: they become problems. */
export async function inspectDataset(index: DatasetIndex, options: InspectOptions = {}): Promise<InspectReport> {
  const verify = options.verify ?? false;
  const problems: DataWarning[] = [...index.warnings];
  const classes: ClassSummary[] = [];
  const limit = options.concurrency ?? availableParallelism();
  for (const cls of index.classes) {
    const all = [...cls.train, ...cls.validation, ...cls.test];
    const summary: ClassSummary = {
      name: cls.name,
      train: cls.train.length,
      validation: cls.validation.length,
      testGood: cls.test.filter((s) => s.label === 0).length,
      testAnomalous: cls.test.filter((s) => s.label === 1).length,
      defects: {},
      masks: cls.test.filter((s) => s.label === 1 && s.mask).length,
      pixelLabels: cls.pixelLabels,
      sizes: {},
      grey: 0,
      colour: 0,
      checked: 0,
    };
    for (const s of cls.test) if (s.label === 1) summary.defects[s.defect] = (summary.defects[s.defect] ?? 0) + 1;
    const toCheck: Sample[] = verify ? all : all.slice(0, options.headerSample ?? 3);
    const results: ({ w: number; h: number; grey: boolean } | undefined)[] = new Array(toCheck.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < toCheck.length) {
        const i = next++;
        const s = toCheck[i];
        try {
          if (verify) {
            const img = await decodeImage(s.image);
            results[i] = { w: img.width, h: img.height, grey: img.channels === 1 };
            if (s.mask) await verifyMask(s.mask, img.width, img.height, problems);
          } else {
            const info = await imageInfo(s.image);
            results[i] = { w: info.width, h: info.height, grey: info.channels === 1 };
          }
        } catch (err) {
          problems.push(toWarning(err));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, toCheck.length)) }, worker));
    for (const r of results) {
      if (!r) continue;
      summary.checked++;
      const key = `${r.w}×${r.h}`;
      summary.sizes[key] = (summary.sizes[key] ?? 0) + 1;
      if (r.grey) summary.grey++;
      else summary.colour++;
    }
    if (summary.grey > 0 && summary.colour > 0) {
      problems.push({
        code: 'E_IMAGE_CHANNELS',
        path: undefined,
        message: `class '${cls.name}' mixes grey (${summary.grey}) and colour (${summary.colour}) images; grey ones are expanded to 3 channels`,
      });
    }
    classes.push(summary);
  }
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
    problems,
  };
}

async function verifyMask(mask: string, width: number, height: number, problems: DataWarning[]): Promise<void> {
  try {
    const m = await decodeImage(mask);
    if (m.width * height !== m.height * width) {
      problems.push({
        code: 'E_MASK_UNREADABLE',
        path: mask,
        message: `${mask}: mask is ${m.width}×${m.height} but its image is ${width}×${height} (different aspect ratio)`,
      });
    }
  } catch (err) {
    if (err instanceof ImageDecodeError) {
      problems.push({ code: 'E_MASK_UNREADABLE', path: mask, message: err.message.replace(/\bimage\b/, 'mask') });
    } else throw err;
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
    c.pixelLabels ? String(c.masks) : 'none',
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
    `${report.root}  (format ${report.format}, ${t.classes} classes${report.verified ? ', every file decoded' : ', headers sampled'})`,
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

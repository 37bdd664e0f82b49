/**
 * The benchmark table: one row per class, metric columns, the mean row, and optional reference
 * rows (published results) with a Δ column (our mean minus the reference, on `deltaColumn`,
 * mAD by default; every column's Δ is kept in `delta` for JSON). Formatters live in
 * table-markdown.ts, table-csv.ts, table-json.ts and table-html.ts.
 *
 * @example
 * const table = buildBenchmarkTable([{ name: 'bottle', metrics }, …], { references });
 * console.log(tableToMarkdown(table));
 */
import { METRIC_NAMES, type MetricName } from '@pmamba/protocol';
import { MetricsError } from './errors.ts';
import { meanAnomalyDetection, type MetricSet } from './metric-set.ts';
import type { ReferenceResult } from './reference-results.ts';

/** Values of one row, fractions; a missing or NaN value prints as "n/a" in our rows, "—" in reference rows (not published). */
export type RowValues = Partial<Record<MetricName, number>>;

/** A class row or the mean row. */
export interface TableRow {
  name: string;
  values: RowValues;
  /** Why values are n/a (printed under the table). */
  notes?: string[];
}

/** What our rows print where a metric is undefined. */
export const NOT_AVAILABLE = 'n/a';

/** A published result placed under the mean row. */
export interface ReferenceRow extends TableRow {
  id: string;
  source?: string;
  approximate: boolean;
  /** Our mean minus the reference, per column where both are known. */
  delta: RowValues;
}

/** A table ready to format. */
export interface BenchmarkTable {
  columns: readonly MetricName[];
  rows: TableRow[];
  mean: TableRow;
  references: ReferenceRow[];
  /** The column whose Δ the formatted tables print. */
  deltaColumn: MetricName;
}

/** Options of `buildBenchmarkTable`. */
export interface BenchmarkTableOptions {
  /** Published results to add under the mean row. Default none. */
  references?: readonly ReferenceResult[];
  /** Columns to show, in order. Default the seven metrics and mAD. */
  columns?: readonly MetricName[];
  /** Column whose Δ is printed beside reference rows. Default `mad`. */
  deltaColumn?: MetricName;
  /** Name of the mean row. Default `mean`. */
  meanName?: string;
}

const known = (v: number | undefined): v is number => typeof v === 'number' && !Number.isNaN(v);

/**
 * Builds the table from per-class metrics (fractions). A class's mAD is computed when absent and
 * all seven are known. A mean is printed only where every class has the value: averaging over a
 * subset would silently compare different things.
 */
export function buildBenchmarkTable(
  classes: readonly { name: string; metrics: Partial<MetricSet>; notes?: readonly string[] }[],
  options: BenchmarkTableOptions = {},
): BenchmarkTable {
  const columns = options.columns ?? METRIC_NAMES;
  const deltaColumn = options.deltaColumn ?? 'mad';
  for (const c of [...columns, deltaColumn]) {
    if (!(METRIC_NAMES as readonly string[]).includes(c)) {
      throw new MetricsError('E_ARGUMENT', `unknown table column '${c}'; use ${METRIC_NAMES.join(', ')}`, 'columns');
    }
  }
  const names = new Set<string>();
  const rows: TableRow[] = classes.map((c, i) => {
    if (typeof c.name !== 'string' || c.name === '') {
      throw new MetricsError('E_ARGUMENT', `classes[${i}].name must be a non-empty string`, `classes[${i}].name`);
    }
    if (names.has(c.name)) throw new MetricsError('E_ARGUMENT', `class '${c.name}' appears twice`, `classes[${i}].name`);
    names.add(c.name);
    const values: RowValues = {};
    for (const k of METRIC_NAMES) {
      const v = c.metrics[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || v < 0 || v > 1) {
        throw new MetricsError('E_ARGUMENT', `class '${c.name}': ${k} must be a fraction in [0, 1] (or NaN), got ${v}`, k);
      }
      values[k] = v;
    }
    if (!known(values.mad)) {
      const mad = meanAnomalyDetection(values);
      if (known(mad)) values.mad = mad;
    }
    return { name: c.name, values, ...(c.notes?.length ? { notes: [...c.notes] } : {}) };
  });

  const meanValues: RowValues = {};
  if (rows.length > 0) {
    for (const k of METRIC_NAMES) {
      if (!rows.every((r) => known(r.values[k]))) continue;
      meanValues[k] = rows.reduce((s, r) => s + r.values[k]!, 0) / rows.length;
    }
  }
  const mean: TableRow = { name: options.meanName ?? 'mean', values: meanValues };

  const references: ReferenceRow[] = (options.references ?? []).map((r) => {
    const delta: RowValues = {};
    for (const k of METRIC_NAMES) {
      const ours = meanValues[k];
      const theirs = r.values[k];
      if (known(ours) && known(theirs)) delta[k] = ours - theirs;
    }
    return { id: r.id, name: r.name, source: r.source, approximate: r.approximate, values: { ...r.values }, delta };
  });

  return { columns, rows, mean, references, deltaColumn };
}

/** Formats a fraction as a percentage with `digits` decimals; `missing` ("—") when missing. */
export function formatPercent(v: number | undefined, digits = 1, missing = '—'): string {
  return known(v) ? (v * 100).toFixed(digits) : missing;
}

/** Lines explaining the n/a cells of our rows: each class's notes, and the mean's rule. */
export function notApplicableNotes(table: BenchmarkTable): string[] {
  const lines = table.rows.flatMap((r) => (r.notes ?? []).map((n) => `${r.name}: ${n}`));
  const meanGaps = table.columns.some((c) => !known(table.mean.values[c]) && table.rows.some((r) => known(r.values[c])));
  if (meanGaps) lines.push(`${table.mean.name}: n/a where a class has no value (a mean over some classes would compare different things)`);
  return lines;
}

/** Formats a difference of fractions in percentage points, signed ("+1.2", "-0.4"). */
export function formatDelta(v: number | undefined, digits = 1): string {
  if (!known(v)) return '—';
  const s = (v * 100).toFixed(digits);
  return Number(s) > 0 ? `+${s}` : Number(s) === 0 ? (0).toFixed(digits) : s;
}

/**
 * The ablation table of a sweep: one row per variant, each metric as mean ± std over the
 * variant's seeds (sample std, n − 1; 0 for one seed) and its Δ to a baseline variant's mean.
 * Rows keep the variant's swept values so plots can put them on an axis (ablation-plot.ts).
 *
 * @example
 * const table = buildAblationTable({ name: 'levels', paths: ['model.pyramid'], baseline: 0, variants });
 * writeFileSync('ablation.md', ablationMarkdown(table));
 */
import { METRIC_NAMES, type MetricName } from '@pmamba/protocol';
import { escapeMarkdownCell } from './table-markdown.ts';
import { csvField } from './table-csv.ts';
import { METRIC_LABELS } from './metric-set.ts';
import { valueLabel } from './ablation-plot.ts';

/** One variant's input: its swept values, its state, and the mean-row metrics of each finished seed. */
export interface AblationVariantInput {
  label: string;
  /** Dotted config path → the value this variant sets. */
  values: Record<string, unknown>;
  /** done, stopped (early), failed, pending, … — printed beside the label unless done. */
  status: string;
  runs: { seed: number; metrics: Partial<Record<MetricName, number | null>> }[];
}

/** mean ± std over seeds, and the difference of the means to the baseline's. */
export interface AblationCell {
  mean: number;
  std: number;
  n: number;
  delta: number | null;
}

export interface AblationRow {
  index: number;
  label: string;
  values: Record<string, unknown>;
  status: string;
  seeds: number[];
  cells: Record<MetricName, AblationCell | null>;
}

export interface AblationTable {
  name: string;
  /** The swept config paths. */
  paths: string[];
  columns: MetricName[];
  /** Index of the baseline row. */
  baseline: number;
  rows: AblationRow[];
}

export interface AblationInput {
  name: string;
  paths: string[];
  variants: AblationVariantInput[];
  baseline?: number;
  columns?: readonly MetricName[];
}

function cellOf(values: number[]): Omit<AblationCell, 'delta'> | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length < 2 ? 0 : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, std, n: values.length };
}

export function buildAblationTable(input: AblationInput): AblationTable {
  const columns = [...(input.columns ?? METRIC_NAMES)];
  const baseline = input.baseline ?? 0;
  if (!Number.isInteger(baseline) || baseline < 0 || baseline >= input.variants.length) {
    throw new RangeError(`baseline ${baseline}: expected a variant index in 0..${input.variants.length - 1}`);
  }
  const raw = input.variants.map((v) =>
    Object.fromEntries(columns.map((m) => [m, cellOf(v.runs.map((r) => r.metrics[m]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)))])),
  ) as Record<MetricName, Omit<AblationCell, 'delta'> | null>[];
  const rows = input.variants.map((v, index) => {
    const cells = Object.fromEntries(
      columns.map((m) => {
        const c = raw[index][m];
        const base = raw[baseline][m];
        return [m, c ? { ...c, delta: base ? c.mean - base.mean : null } : null];
      }),
    ) as Record<MetricName, AblationCell | null>;
    return { index, label: v.label, values: v.values, status: v.status, seeds: v.runs.map((r) => r.seed), cells };
  });
  return { name: input.name, paths: [...input.paths], columns, baseline, rows };
}

const pct = (v: number, digits = 1): string => (v * 100).toFixed(digits);
const signed = (v: number, digits = 1): string => {
  const s = pct(v, digits);
  return Number(s) > 0 ? `+${s}` : Number(s) === 0 ? (0).toFixed(digits) : s;
};

/** `84.2 ± 1.3 (+2.0)`; the baseline row has no Δ; `—` where no seed finished. */
export function formatAblationCell(cell: AblationCell | null, isBaseline: boolean): string {
  if (!cell) return '—';
  const spread = cell.n > 1 ? ` ± ${pct(cell.std)}` : '';
  const delta = !isBaseline && cell.delta !== null ? ` (${signed(cell.delta)})` : '';
  return `${pct(cell.mean)}${spread}${delta}`;
}

/** `2: model.noiseStd=0.5, model.pyramid=levels 1,1,1,1 (baseline, stopped)` */
export function ablationRowName(row: AblationRow, table: AblationTable): string {
  const marks = [row.index === table.baseline ? 'baseline' : '', row.status !== 'done' ? row.status : ''].filter(Boolean);
  const values = table.paths.filter((p) => p in row.values).map((p) => `${p}=${valueLabel(row.values[p])}`).join(', ');
  return `${row.index}: ${values || row.label || '(base config)'}${marks.length ? ` (${marks.join(', ')})` : ''}`;
}

/** GitHub-flavoured Markdown: percentages, mean ± std over seeds, (Δ to the baseline). */
export function ablationMarkdown(table: AblationTable): string {
  const header = ['variant', 'seeds', ...table.columns.map((c) => METRIC_LABELS[c])];
  const lines = [`| ${header.join(' | ')} |`, `|---|---:|${table.columns.map(() => '---:').join('|')}|`];
  for (const row of table.rows) {
    const cells = table.columns.map((c) => formatAblationCell(row.cells[c], row.index === table.baseline));
    lines.push(`| ${escapeMarkdownCell(ablationRowName(row, table))} | ${row.seeds.length} | ${cells.join(' | ')} |`);
  }
  lines.push('', `Percent; mean ± std over seeds; (Δ) = the variant's mean − the baseline's (variant ${table.baseline}).`);
  return `${lines.join('\n')}\n`;
}

/** CSV: fractions with six decimals; per metric `<m>_mean`, `<m>_std`, `<m>_n`, `<m>_delta`. */
export function ablationCsv(table: AblationTable): string {
  const header = ['variant', 'label', 'status', 'baseline', 'seeds', ...table.paths.map((p) => `value:${p}`)];
  for (const c of table.columns) header.push(`${c}_mean`, `${c}_std`, `${c}_n`, `${c}_delta`);
  const num = (v: number | null | undefined): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(6) : '');
  const lines = [header.map(csvField).join(',')];
  for (const row of table.rows) {
    const fields = [
      String(row.index),
      csvField(row.label),
      csvField(row.status),
      row.index === table.baseline ? 'true' : 'false',
      csvField(row.seeds.join(' ')),
      ...table.paths.map((p) => csvField(JSON.stringify(row.values[p]))),
    ];
    for (const c of table.columns) {
      const cell = row.cells[c];
      fields.push(num(cell?.mean), num(cell?.std), cell ? String(cell.n) : '', num(cell?.delta));
    }
    lines.push(fields.join(','));
  }
  return `${lines.join('\n')}\n`;
}

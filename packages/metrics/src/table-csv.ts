/**
 * The benchmark table as CSV (RFC 4180) for spreadsheets and scripts: fractions with six
 * decimals, a `kind` column (class, mean, reference), and with references an `approximate`
 * column and one `delta_<column>` per column (our mean minus the reference).
 *
 * @example
 * tableToCsv(table); // "kind,name,i_auroc,…\nclass,bottle,1.000000,…"
 */
import type { BenchmarkTable, RowValues } from './benchmark-table.ts';

/**
 * Quotes a CSV field when needed; text starting with = + - @ (a spreadsheet formula) is
 * prefixed with a quote so that opening the file never runs it.
 */
export function csvField(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const num = (v: number | undefined): string => (typeof v === 'number' && !Number.isNaN(v) ? v.toFixed(6) : '');

/** Renders the table as CSV. */
export function tableToCsv(table: BenchmarkTable): string {
  const withRefs = table.references.length > 0;
  const header = ['kind', 'name', ...table.columns];
  if (withRefs) header.push('approximate', ...table.columns.map((c) => `delta_${c}`));
  const lines = [header.join(',')];
  const line = (kind: string, name: string, values: RowValues, extra: string[]): void => {
    lines.push([kind, csvField(name), ...table.columns.map((c) => num(values[c])), ...extra].join(','));
  };
  const blank = withRefs ? ['', ...table.columns.map(() => '')] : [];
  for (const r of table.rows) line('class', r.name, r.values, blank);
  line('mean', table.mean.name, table.mean.values, blank);
  for (const r of table.references) {
    line('reference', r.name, r.values, [String(r.approximate), ...table.columns.map((c) => num(r.delta[c]))]);
  }
  return lines.join('\n') + '\n';
}

/**
 * The benchmark table as an HTML fragment (`<table class="pmamba-benchmark">`), every text
 * escaped. Rows carry classes `class`, `mean`, `reference` and `delta` for styling.
 *
 * @example
 * document.body.innerHTML = tableToHtml(table);
 */
import { NOT_AVAILABLE, formatDelta, formatPercent, notApplicableNotes, type BenchmarkTable, type TableRow } from './benchmark-table.ts';
import { escapeHtml } from './html-escape.ts';
import { METRIC_LABELS } from './metric-set.ts';
import type { TableFormatOptions } from './table-markdown.ts';

/** Options of the HTML table. */
export interface HtmlTableOptions extends TableFormatOptions {
  /** Table caption. Default none. */
  caption?: string;
  /** Only these class rows (by name); the mean and reference rows are kept. Default all. */
  only?: readonly string[];
  /** Leave out the mean and reference rows (for one class's section). Default false. */
  classRowsOnly?: boolean;
}

/** Renders the table as HTML. */
export function tableToHtml(table: BenchmarkTable, options: HtmlTableOptions = {}): string {
  const digits = options.digits ?? 1;
  const withDelta = table.references.length > 0 && !options.classRowsOnly;
  const th = ['class', ...table.columns.map((c) => METRIC_LABELS[c])];
  if (withDelta) th.push(`Δ ${METRIC_LABELS[table.deltaColumn]} (ours − ref)`);
  const out: string[] = ['<table class="pmamba-benchmark">'];
  if (options.caption !== undefined) out.push(`<caption>${escapeHtml(options.caption)}</caption>`);
  out.push(`<thead><tr>${th.map((h, i) => `<th scope="col"${i ? ' class="num"' : ''}>${escapeHtml(h)}</th>`).join('')}</tr></thead>`);
  out.push('<tbody>');
  const cells = (r: TableRow, fmt: (s: string) => string = (s) => s, missing = NOT_AVAILABLE): string =>
    table.columns.map((c) => `<td class="num">${escapeHtml(fmt(formatPercent(r.values[c], digits, missing)))}</td>`).join('');
  const pad = withDelta ? '<td></td>' : '';
  const rows = options.only ? table.rows.filter((r) => options.only!.includes(r.name)) : table.rows;
  for (const r of rows) out.push(`<tr class="class"><th scope="row">${escapeHtml(r.name)}</th>${cells(r)}${pad}</tr>`);
  if (!options.classRowsOnly) {
    out.push(`<tr class="mean"><th scope="row">${escapeHtml(table.mean.name)}</th>${cells(table.mean)}${pad}</tr>`);
    for (const r of table.references) {
      const approx = (s: string): string => (r.approximate && s !== '—' ? `≈${s}` : s);
      const title = r.source !== undefined ? ` title="${escapeHtml(r.source)}"` : '';
      out.push(
        `<tr class="reference"><th scope="row"${title}>${escapeHtml(r.name)}</th>${cells(r, approx, '—')}` +
          `<td class="num">${escapeHtml(approx(formatDelta(r.delta[table.deltaColumn], digits)))}</td></tr>`,
      );
      if (options.deltaRows) {
        const deltas = table.columns.map((c) => `<td class="num">${escapeHtml(approx(formatDelta(r.delta[c], digits)))}</td>`);
        out.push(`<tr class="delta"><th scope="row">${escapeHtml(`Δ vs ${r.name}`)}</th>${deltas.join('')}<td></td></tr>`);
      }
    }
  }
  out.push('</tbody>', '</table>');
  const notes = notApplicableNotes(options.only ? { ...table, rows } : table);
  if (notes.length > 0) out.push(`<ul class="pmamba-notes">${notes.map((n) => `<li>n/a — ${escapeHtml(n)}</li>`).join('')}</ul>`);
  return out.join('\n');
}

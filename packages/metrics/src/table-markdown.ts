/**
 * The benchmark table as GitHub-flavoured Markdown: percentages, the mean row in bold,
 * reference rows in italics with a "≈" on approximate values and the Δ column.
 *
 * @example
 * tableToMarkdown(buildBenchmarkTable(classes, { references }));
 * // | class | I-AUROC | … | mAD | Δ mAD |
 */
import { NOT_AVAILABLE, formatDelta, formatPercent, notApplicableNotes, type BenchmarkTable } from './benchmark-table.ts';
import { METRIC_LABELS } from './metric-set.ts';

/** Escapes text for a Markdown table cell (pipes, emphasis, links, inline HTML). */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/[\\|*_`[\]<>#]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** Options shared by the human-readable formats. */
export interface TableFormatOptions {
  /** Decimals of the percentages. Default 1, as papers print them. */
  digits?: number;
  /** Under each reference row, a row of per-column Δ (ours − ref). Default false. */
  deltaRows?: boolean;
}

/** Renders the table as Markdown. */
export function tableToMarkdown(table: BenchmarkTable, options: TableFormatOptions = {}): string {
  const digits = options.digits ?? 1;
  const withDelta = table.references.length > 0;
  const header = ['class', ...table.columns.map((c) => METRIC_LABELS[c])];
  if (withDelta) header.push(`Δ ${METRIC_LABELS[table.deltaColumn]} (ours − ref)`);
  const lines = [`| ${header.join(' | ')} |`, `|${['---', ...header.slice(1).map(() => '---:')].join('|')}|`];
  const row = (cells: string[]): void => {
    lines.push(`| ${cells.join(' | ')} |`);
  };
  const pad = withDelta ? [''] : [];
  for (const r of table.rows) {
    row([escapeMarkdownCell(r.name), ...table.columns.map((c) => formatPercent(r.values[c], digits, NOT_AVAILABLE)), ...pad]);
  }
  row([`**${escapeMarkdownCell(table.mean.name)}**`, ...table.columns.map((c) => `**${formatPercent(table.mean.values[c], digits, NOT_AVAILABLE)}**`), ...pad]);
  for (const r of table.references) {
    const approx = (s: string): string => (r.approximate && s !== '—' ? `≈${s}` : s);
    row([
      `*${escapeMarkdownCell(r.name)}*`,
      ...table.columns.map((c) => approx(formatPercent(r.values[c], digits))),
      approx(formatDelta(r.delta[table.deltaColumn], digits)),
    ]);
    if (options.deltaRows) {
      row([`Δ vs ${escapeMarkdownCell(r.name)}`, ...table.columns.map((c) => approx(formatDelta(r.delta[c], digits))), '']);
    }
  }
  const notes = notApplicableNotes(table);
  if (notes.length > 0) lines.push('', ...notes.map((n) => `- n/a — ${escapeMarkdownCell(n)}`));
  return lines.join('\n') + '\n';
}

/**
 * The ablation table as one self-contained HTML page: the table, then one SVG plot of each
 * metric against each swept value.
 */
import { escapeHtml } from './html-escape.ts';
import { ablationPlotSvg } from './ablation-plot.ts';
import { ablationRowName, formatAblationCell, type AblationTable } from './ablation-table.ts';
import { METRIC_LABELS } from './metric-set.ts';

export function ablationHtml(table: AblationTable, options: { title?: string; notes?: string[] } = {}): string {
  const title = options.title ?? `Ablation: ${table.name}`;
  const head = ['variant', 'seeds', ...table.columns.map((c) => METRIC_LABELS[c])].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = table.rows
    .map((row) => {
      const name = ablationRowName(row, table);
      const cells = table.columns.map((c) => `<td>${escapeHtml(formatAblationCell(row.cells[c], row.index === table.baseline))}</td>`).join('');
      return `<tr${row.index === table.baseline ? ' class="baseline"' : ''}><th>${escapeHtml(name)}</th><td>${row.seeds.length}</td>${cells}</tr>`;
    })
    .join('\n');
  const plots = table.paths.flatMap((path) => table.columns.map((metric) => `<figure>${ablationPlotSvg(table, path, metric)}</figure>`)).join('\n');
  const notes = (options.notes ?? []).map((n) => `<p>${escapeHtml(n)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; } th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child { text-align: left; } tr.baseline { background: #f3f7fb; }
figure { display: inline-block; margin: 8px; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
<p>Percent; mean ± std over seeds; (Δ) = the variant's mean − the baseline's (variant ${table.baseline}).</p>
${notes}
<h2>Metrics against the swept values</h2>
${plots}
</body></html>
`;
}

/**
 * A self-contained HTML report: the benchmark table, then per class its table row, its ROC,
 * PR and PRO curves (inline SVG) and links to its heatmap images. Every text and address
 * shown is escaped; image addresses must be paths or http(s)/file/data:image URLs; a
 * Content-Security-Policy forbids scripts in the page.
 *
 * @example
 * writeFileSync('report.html', reportHtml({ title: 'run 42', table, classes: [{ name: 'bottle', curves, heatmaps }] }));
 */
import type { MetricCurves } from './all-metrics.ts';
import { formatPercent, type BenchmarkTable } from './benchmark-table.ts';
import type { CurveSeries } from './svg-curve.ts';
import { prSvg, proSvg, rocSvg } from './svg-curve.ts';
import { escapeHtml, safeImageUrl } from './html-escape.ts';
import { MetricsError } from './errors.ts';
import { tableToHtml, type HtmlTableOptions } from './table-html.ts';

/** One heatmap image of a class. */
export interface HeatmapLink {
  /** Image path (relative to the report) or http(s)/file/data:image URL. */
  src: string;
  /** Text under the image, e.g. the test image's name. */
  caption?: string;
}

/** What the report shows for one class; its row is looked up in the table by name. */
export interface ClassReport {
  name: string;
  curves?: MetricCurves;
  heatmaps?: readonly HeatmapLink[];
}

/** Options of `reportHtml`. */
export interface ReportOptions {
  title: string;
  table: BenchmarkTable;
  classes?: readonly ClassReport[];
  /** Free-text lines under the title (run id, model, date…). Default none. */
  notes?: readonly string[];
  /** Decimals of percentages. Default 1. */
  digits?: number;
  /** Per-column Δ rows under each reference in the main table. Default true. */
  deltaRows?: boolean;
  /** AU-PRO integration limit, drawn on PRO plots. Default 0.3. */
  fprLimit?: number;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
table.pmamba-benchmark{border-collapse:collapse;margin:8px 0 16px}
table.pmamba-benchmark th,table.pmamba-benchmark td{border-bottom:1px solid #ddd;padding:3px 8px}
table.pmamba-benchmark .num{text-align:right;font-variant-numeric:tabular-nums}
tr.mean{font-weight:bold;border-top:2px solid #333}
tr.reference{font-style:italic;color:#555}
tr.delta{color:#555;font-size:12px}
.curves{display:flex;flex-wrap:wrap;gap:8px}
.heatmaps{display:flex;flex-wrap:wrap;gap:8px}
.heatmaps figure{margin:0;width:160px}
.heatmaps img{width:160px;height:auto;border:1px solid #ccc}
.heatmaps figcaption{font-size:12px;word-break:break-all}
`.trim();

function curvesHtml(name: string, curves: MetricCurves, digits: number, table: BenchmarkTable, fprLimit: number): string {
  const row = table.rows.find((r) => r.name === name)?.values ?? {};
  const tag = (label: string, v: number | undefined): string => (v === undefined ? label : `${label} ${formatPercent(v, digits)}`);
  const roc: CurveSeries[] = [
    { name: tag('image, AUROC', row.i_auroc), curve: curves.image.roc },
    { name: tag('pixel, AUROC', row.p_auroc), curve: curves.pixel.roc },
  ];
  const pr: CurveSeries[] = [
    { name: tag('image, AP', row.i_ap), curve: curves.image.pr },
    { name: tag('pixel, AP', row.p_ap), curve: curves.pixel.pr },
  ];
  const pro: CurveSeries[] = [{ name: tag('AU-PRO', row.au_pro), curve: curves.pixel.pro }];
  return `<div class="curves">\n${rocSvg(roc, `${name}: ROC`)}${prSvg(pr, `${name}: precision-recall`)}${proSvg(pro, fprLimit, `${name}: PRO`)}</div>`;
}

/** Renders the report as one HTML document. */
export function reportHtml(o: ReportOptions): string {
  const digits = o.digits ?? 1;
  const tableOptions: HtmlTableOptions = { digits, deltaRows: o.deltaRows ?? true };
  const out: string[] = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' data: file: http: https:; style-src 'unsafe-inline'">`,
    `<title>${escapeHtml(o.title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(o.title)}</h1>`,
  ];
  for (const note of o.notes ?? []) out.push(`<p>${escapeHtml(note)}</p>`);
  out.push(tableToHtml(o.table, tableOptions));

  for (const [i, c] of (o.classes ?? []).entries()) {
    if (!o.table.rows.some((r) => r.name === c.name)) {
      throw new MetricsError('E_ARGUMENT', `classes[${i}]: class '${c.name}' has no row in the table`, `classes[${i}].name`);
    }
    out.push(`<section>`, `<h2>${escapeHtml(c.name)}</h2>`);
    out.push(tableToHtml(o.table, { ...tableOptions, only: [c.name], classRowsOnly: true }));
    if (c.curves) out.push(curvesHtml(c.name, c.curves, digits, o.table, o.fprLimit ?? 0.3));
    if (c.heatmaps && c.heatmaps.length > 0) {
      out.push('<div class="heatmaps">');
      c.heatmaps.forEach((h, k) => {
        const src = safeImageUrl(h.src, `classes[${i}].heatmaps[${k}].src`);
        const caption = h.caption ?? h.src;
        out.push(
          `<figure><a href="${src}"><img src="${src}" alt="${escapeHtml(caption)}" loading="lazy"></a>` +
            `<figcaption>${escapeHtml(caption)}</figcaption></figure>`,
        );
      });
      out.push('</div>');
    }
    out.push('</section>');
  }
  out.push('</body>', '</html>');
  return out.join('\n') + '\n';
}

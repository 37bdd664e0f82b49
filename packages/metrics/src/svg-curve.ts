/**
 * Curves as standalone SVG: axes on [0, 1]², a 0.2 grid, one polyline per series and a legend.
 * `rocSvg`, `prSvg` and `proSvg` set the titles, axes and guides of the three usual plots.
 * Feed decimated curves (see curves.ts): the SVG holds every point it is given.
 *
 * @example
 * writeFileSync('roc.svg', rocSvg([{ name: 'pixel (P-AUROC 97.4)', curve: curves.pixel.roc }]));
 */
import type { Curve } from './curve-decimation.ts';
import { escapeHtml } from './html-escape.ts';

/** One line of a plot. */
export interface CurveSeries {
  /** Legend text. */
  name: string;
  curve: Curve;
  /** CSS colour (#rgb, #rrggbb or a colour name). Default from a colour-blind-safe palette. */
  color?: string;
}

/** Options of `curveSvg`. */
export interface CurveSvgOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly CurveSeries[];
  /** Width and height in px. Default 360 × 320. */
  width?: number;
  height?: number;
  /** Draw the y = x chance line (ROC). Default false. */
  diagonal?: boolean;
  /** Draw a dashed vertical guide at this x (e.g. the AU-PRO FPR limit). Default none. */
  xGuide?: number;
  /** Legend corner, where the curves seldom go. Default `bottom-right` (ROC, PRO). */
  legend?: 'bottom-right' | 'bottom-left';
}

const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
const COLOR = /^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{3,20})$/;

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Renders curves on the unit square as an SVG document. */
export function curveSvg(o: CurveSvgOptions): string {
  const width = o.width ?? 360;
  const height = o.height ?? 320;
  const m = { left: 46, right: 12, top: 26, bottom: 40 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const X = (x: number): string => fmt(m.left + Math.min(Math.max(x, 0), 1) * pw);
  const Y = (y: number): string => fmt(m.top + (1 - Math.min(Math.max(y, 0), 1)) * ph);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="11" role="img" aria-label="${escapeHtml(o.title)}">`,
    `<title>${escapeHtml(o.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${fmt(width / 2)}" y="16" text-anchor="middle" font-size="13">${escapeHtml(o.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const t = i / 5;
    const label = t.toFixed(1);
    parts.push(
      `<line x1="${X(t)}" y1="${Y(0)}" x2="${X(t)}" y2="${Y(1)}" stroke="#e5e5e5"/>`,
      `<line x1="${X(0)}" y1="${Y(t)}" x2="${X(1)}" y2="${Y(t)}" stroke="#e5e5e5"/>`,
      `<text x="${X(t)}" y="${fmt(m.top + ph + 14)}" text-anchor="middle">${label}</text>`,
      `<text x="${fmt(m.left - 5)}" y="${fmt(Number(Y(t)) + 4)}" text-anchor="end">${label}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${fmt(m.left + pw / 2)}" y="${height - 6}" text-anchor="middle">${escapeHtml(o.xLabel)}</text>`,
    `<text transform="translate(12 ${fmt(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(o.yLabel)}</text>`,
  );
  if (o.diagonal) {
    parts.push(`<line x1="${X(0)}" y1="${Y(0)}" x2="${X(1)}" y2="${Y(1)}" stroke="#999" stroke-dasharray="4 3"/>`);
  }
  if (o.xGuide !== undefined && o.xGuide > 0 && o.xGuide < 1) {
    parts.push(`<line x1="${X(o.xGuide)}" y1="${Y(0)}" x2="${X(o.xGuide)}" y2="${Y(1)}" stroke="#999" stroke-dasharray="2 3"/>`);
  }
  o.series.forEach((s, i) => {
    const color = s.color !== undefined && COLOR.test(s.color) ? s.color : PALETTE[i % PALETTE.length];
    const n = Math.min(s.curve.x.length, s.curve.y.length);
    const pts: string[] = [];
    for (let k = 0; k < n; k++) pts.push(`${X(s.curve.x[k])},${Y(s.curve.y[k])}`);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${pts.join(' ')}"/>`);
    const ly = m.top + ph - 10 - (o.series.length - 1 - i) * 15;
    const lx = o.legend === 'bottom-left' ? m.left + 8 : m.left + pw - 150;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${lx + 22}" y="${ly + 4}">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** ROC plot: FPR against TPR with the chance diagonal. */
export function rocSvg(series: readonly CurveSeries[], title = 'ROC'): string {
  return curveSvg({ title, xLabel: 'false-positive rate', yLabel: 'true-positive rate', series, diagonal: true });
}

/** Precision-recall plot. */
export function prSvg(series: readonly CurveSeries[], title = 'Precision-recall'): string {
  return curveSvg({ title, xLabel: 'recall', yLabel: 'precision', series, legend: 'bottom-left' });
}

/** PRO plot with a guide at the AU-PRO integration limit. */
export function proSvg(series: readonly CurveSeries[], fprLimit = 0.3, title = 'PRO'): string {
  return curveSvg({ title, xLabel: 'false-positive rate', yLabel: 'per-region overlap', series, xGuide: fprLimit });
}

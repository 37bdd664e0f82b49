/**
 * A metric against one swept value, as standalone SVG — for pyramid levels, the shape of the
 * paper's Fig. 4: the swept values on the x axis in grid order, the metric (percent) on y with
 * ± std whiskers, one line per combination of the other swept values.
 *
 * @example
 * writeFileSync('mad.svg', ablationPlotSvg(table, 'model.pyramid', 'mad'));
 */
import type { MetricName } from '@pmamba/protocol';
import type { AblationTable } from './ablation-table.ts';
import { escapeHtml } from './html-escape.ts';
import { METRIC_LABELS } from './metric-set.ts';

const PALETTE = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'];
const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

/** A swept value as an axis label: numbers and strings as is, pyramid configs by their levels. */
export function valueLabel(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o.levels)) return `levels ${o.levels.join(',')}`;
    if (o.mode === 'reference') return 'reference';
  }
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 24 ? `${text.slice(0, 23)}…` : text;
}

export function ablationPlotSvg(table: AblationTable, path: string, metric: MetricName, size = { width: 420, height: 300 }): string {
  const others = table.paths.filter((p) => p !== path);
  const xs: string[] = [];
  const series = new Map<string, { x: number; mean: number; std: number }[]>();
  for (const row of table.rows) {
    const x = JSON.stringify(row.values[path]);
    if (!xs.includes(x)) xs.push(x);
    const cell = row.cells[metric];
    if (!cell) continue;
    const key = others.map((p) => `${p}=${valueLabel(row.values[p])}`).join(', ') || METRIC_LABELS[metric];
    const points = series.get(key) ?? [];
    points.push({ x: xs.indexOf(x), mean: cell.mean * 100, std: cell.std * 100 });
    series.set(key, points);
  }
  const all = [...series.values()].flat();
  let lo = Math.min(...all.map((p) => p.mean - p.std));
  let hi = Math.max(...all.map((p) => p.mean + p.std));
  if (!Number.isFinite(lo)) [lo, hi] = [0, 100];
  if (hi - lo < 2) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.1;
  [lo, hi] = [Math.max(0, lo - pad), Math.min(100, hi + pad)];
  const { width, height } = size;
  const m = { left: 50, right: 14, top: 28, bottom: 56 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const X = (i: number): number => m.left + (xs.length === 1 ? pw / 2 : (i / (xs.length - 1)) * pw);
  const Y = (v: number): number => m.top + (1 - (v - lo) / (hi - lo)) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${escapeHtml(`${METRIC_LABELS[metric]} vs ${path}`)}</text>`,
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${fmt(Y(v))}" y2="${fmt(Y(v))}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 4}" y="${fmt(Y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  xs.forEach((x, i) => {
    parts.push(`<text x="${fmt(X(i))}" y="${m.top + ph + 16}" text-anchor="middle">${escapeHtml(valueLabel(JSON.parse(x)))}</text>`);
  });
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 22}" text-anchor="middle">${escapeHtml(path)}</text>`);
  [...series.entries()].forEach(([name, points], s) => {
    const color = PALETTE[s % PALETTE.length];
    const sorted = [...points].sort((a, b) => a.x - b.x);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${sorted.map((p) => `${fmt(X(p.x))},${fmt(Y(p.mean))}`).join(' ')}"/>`);
    for (const p of sorted) {
      if (p.std > 0) parts.push(`<line x1="${fmt(X(p.x))}" x2="${fmt(X(p.x))}" y1="${fmt(Y(p.mean - p.std))}" y2="${fmt(Y(p.mean + p.std))}" stroke="${color}"/>`);
      parts.push(`<circle cx="${fmt(X(p.x))}" cy="${fmt(Y(p.mean))}" r="3" fill="${color}"><title>${escapeHtml(`${name}: ${p.mean.toFixed(1)} ± ${p.std.toFixed(1)}`)}</title></circle>`);
    }
    if (series.size > 1) parts.push(`<text x="${m.left + 6}" y="${m.top + 14 + s * 13}" fill="${color}">${escapeHtml(name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

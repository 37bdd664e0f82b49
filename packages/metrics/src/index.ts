/**
 * @pmamba/metrics: exact anomaly-detection metrics, curves, benchmark tables and reports.
 *
 * ```ts
 * const { metrics } = computeAllMetrics({ scores, labels, maps, masks, shape: [n, h, w] });
 * console.log(metrics.i_auroc, metrics.au_pro, metrics.mad); // fractions in [0, 1]
 * ```
 */
export { MetricsError } from './errors.ts';
export { METRIC_LABELS } from './metric-set.ts';
export type { MetricSet } from './metric-set.ts';
export { rankScores } from './ranking.ts';
export { auroc } from './auroc.ts';
export { averagePrecision } from './average-precision.ts';
export { f1Max } from './f1max.ts';
export { DEFAULT_CURVE_BINS } from './curves.ts';
export { computeAllMetrics } from './all-metrics.ts';
export type { AllMetricsResult } from './all-metrics.ts';
export { buildBenchmarkTable } from './benchmark-table.ts';
export type { BenchmarkTable } from './benchmark-table.ts';
export { tableToMarkdown } from './table-markdown.ts';
export { tableToCsv, csvField } from './table-csv.ts';
export { reportHtml } from './report-html.ts';
export type { ClassReport } from './report-html.ts';
export { buildAblationTable, ablationMarkdown, ablationCsv } from './ablation-table.ts';
export type { AblationTable, AblationVariantInput } from './ablation-table.ts';
export { ablationHtml } from './ablation-html.ts';

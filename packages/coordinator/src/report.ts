/**
 * The report job: reads each class's evaluation record from the store, builds the benchmark
 * table (per class and the mean) and writes it as report.{md,csv,json,html}. The JSON file is
 * the table itself: {"classes": {NAME: {i_auroc, …, mad}}, "mean": {…}}, fractions in [0, 1],
 * null where a metric is undefined. The HTML report embeds curves and heatmaps, so it is one
 * self-contained file wherever it is copied.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildBenchmarkTable,
  reportHtml,
  tableToCsv,
  tableToMarkdown,
  type BenchmarkTable,
  type ClassReport,
} from '@pmamba/metrics';
import {
  METRIC_NAMES,
  layout,
  parseEvaluationRecord,
  parseRunRecord,
  type ClassMetrics,
  type EvaluationRecord,
  type MetricName,
  type ReportFormat,
  type ReportPayload,
  type ReportResult,
  type ReportTable,
} from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';

const CONTENT_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
};

/** The mean row: each metric averaged over classes, null unless every class has it. */
export function meanMetrics(classes: readonly ClassMetrics[]): ClassMetrics {
  const mean = {} as Record<MetricName, number | null>;
  for (const m of METRIC_NAMES) {
    const values = classes.map((c) => c[m]);
    mean[m] = values.length > 0 && values.every((v) => v !== null) ? (values as number[]).reduce((a, b) => a + b, 0) / values.length : null;
  }
  return mean;
}

export function reportTable(records: readonly EvaluationRecord[]): ReportTable {
  const classes = Object.fromEntries(records.map((r) => [r.className, r.metrics]));
  return { classes, mean: meanMetrics(records.map((r) => r.metrics)) };
}

/** The table in @pmamba/metrics' form, for its formatters; `columns` picks and orders the metrics shown. */
export function benchmarkTable(table: ReportTable, columns: readonly MetricName[] = METRIC_NAMES): BenchmarkTable {
  const rows = Object.entries(table.classes).map(([name, m]) => ({
    name,
    metrics: Object.fromEntries(METRIC_NAMES.filter((k) => m[k] !== null).map((k) => [k, m[k] as number])),
    ...(m.notes ? { notes: m.notes } : {}),
  }));
  return buildBenchmarkTable(rows, { columns });
}

/** The table as Markdown (percentages), as the CLI prints it. */
export function reportMarkdown(table: ReportTable, columns?: readonly MetricName[]): string {
  return tableToMarkdown(benchmarkTable(table, columns));
}

/** The JSON report: exactly the table, `{"classes": …, "mean": …}`. */
export function reportJson(table: ReportTable): string {
  return `${JSON.stringify({ classes: table.classes, mean: table.mean }, null, 2)}\n`;
}

async function htmlClass(store: ArtifactStore, record: EvaluationRecord): Promise<ClassReport> {
  const heatmaps = await Promise.all(
    record.heatmaps.map(async (h) => ({
      src: `data:image/png;base64,${Buffer.from(await store.getBytes(h.artifact.key)).toString('base64')}`,
      caption: h.caption,
    })),
  );
  return { name: record.className, curves: record.curves, heatmaps };
}

export async function writeReport(store: ArtifactStore, payload: ReportPayload): Promise<ReportResult> {
  const runKey = layout.runRecordKey(payload.runId);
  const run = await store.getJson(runKey, (v) => parseRunRecord(v, runKey));
  const records = await Promise.all(
    payload.classes.map(async (c) => {
      const key = payload.metricsKeys[c]!;
      return store.getJson(key, (v) => parseEvaluationRecord(v, key));
    }),
  );
  const table = reportTable(records);
  const columns = run.config.evaluation.metrics;
  const bench = benchmarkTable(table, columns);
  const render: Record<ReportFormat, () => Promise<string>> = {
    md: async () => tableToMarkdown(bench),
    csv: async () => tableToCsv(bench),
    json: async () => reportJson(table),
    html: async () =>
      reportHtml({
        title: payload.title ?? `pmamba run ${payload.runId}`,
        notes: payload.notes,
        table: bench,
        classes: await Promise.all(records.map((r) => htmlClass(store, r))),
        fprLimit: run.config.evaluation.auProMaxFpr,
      }),
  };
  const artifacts = [];
  for (const format of payload.formats) {
    const written = await store.putBytes(payload.reportKeys[format]!, Buffer.from(await render[format](), 'utf8'), { contentType: CONTENT_TYPES[format] });
    artifacts.push({ key: written.key, sha256: written.sha256, size: written.size });
  }
  return { runId: payload.runId, table, artifacts };
}

/** Copies a report's files from the store into a local folder (report.md, report.json, …). */
export async function saveReport(store: ArtifactStore, result: ReportResult, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const a of result.artifacts) {
    const path = join(dir, a.key.slice(a.key.lastIndexOf('/') + 1));
    await writeFile(path, await store.getBytes(a.key));
    written.push(path);
  }
  return written;
}

/**
 * A sweep's ablation table from its manifest: one row per variant, each metric as mean ± std over
 * the seeds that finished (stopped runs count with the evaluation they stopped at), Δ to the
 * baseline variant; written to `sweeps/<name>/report/ablation.{md,csv,json,html}`.
 */
import { ablationCsv, ablationHtml, ablationMarkdown, buildAblationTable, type AblationTable } from '@pmamba/metrics';
import { REPORT_FORMATS, layout, type ArtifactRef, type ReportFormat, type SweepManifest } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';

export interface SweepReport {
  table: AblationTable;
  markdown: string;
  artifacts: ArtifactRef[];
}

const CONTENT_TYPES: Record<ReportFormat, string> = {
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
};

/** A variant's state in the table: done when all its seeds are, else the least finished one's. */
function variantStatus(runs: SweepManifest['variants'][number]['runs']): string {
  for (const s of ['failed', 'running', 'pending', 'stopped'] as const) if (runs.some((r) => r.status === s)) return s;
  return 'done';
}

export function sweepTable(manifest: SweepManifest): AblationTable {
  return buildAblationTable({
    name: manifest.name,
    paths: manifest.paths,
    baseline: manifest.baseline,
    variants: manifest.variants.map((v) => ({
      label: v.label,
      values: v.overrides,
      status: variantStatus(v.runs),
      runs: v.runs.filter((r) => r.result).map((r) => ({ seed: r.seed, metrics: r.result! })),
    })),
  });
}

function notes(manifest: SweepManifest): string[] {
  return manifest.variants.flatMap((v) => v.runs.filter((r) => r.reason).map((r) => `${r.runId} (variant ${v.index}, seed ${r.seed}) ${r.status}: ${r.reason}`));
}

export async function writeSweepReport(store: ArtifactStore, manifest: SweepManifest): Promise<SweepReport> {
  const table = sweepTable(manifest);
  const lines = notes(manifest);
  const markdown = `${ablationMarkdown(table)}${lines.length ? `\n${lines.map((l) => `- ${l}`).join('\n')}\n` : ''}`;
  const render: Record<ReportFormat, () => string> = {
    md: () => markdown,
    csv: () => ablationCsv(table),
    json: () => `${JSON.stringify({ sweep: manifest.name, seeds: manifest.seeds, ...table, notes: lines }, null, 2)}\n`,
    html: () => ablationHtml(table, { notes: lines }),
  };
  const artifacts: ArtifactRef[] = [];
  for (const format of REPORT_FORMATS) {
    const written = await store.putBytes(layout.sweepReportKey(manifest.name, format), Buffer.from(render[format](), 'utf8'), { contentType: CONTENT_TYPES[format] });
    artifacts.push({ key: written.key, sha256: written.sha256, size: written.size });
  }
  return { table, markdown, artifacts };
}

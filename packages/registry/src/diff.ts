/** Two versions side by side: every metric of the mean and of each class, with b − a. */
import { METRIC_NAMES, type ClassMetrics, type MetricName, type ModelVersion } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';
import { readVersion } from './versions.ts';

export interface MetricRow {
  /** `mean`, or a class name. */
  scope: string;
  metric: MetricName;
  a: number | null;
  b: number | null;
  /** b − a; null when either is undefined. */
  delta: number | null;
}

export interface VersionDiff {
  a: ModelVersion;
  b: ModelVersion;
  /** Whether both were evaluated on the same data; if not, their metrics do not compare. */
  sameEvaluationData: boolean;
  /** The mean's metrics first, then each class's (classes of a, then those only b has). */
  rows: MetricRow[];
}

function rowsOf(scope: string, a: ClassMetrics | undefined, b: ClassMetrics | undefined): MetricRow[] {
  return METRIC_NAMES.map((metric) => {
    const va = a?.[metric] ?? null;
    const vb = b?.[metric] ?? null;
    return { scope, metric, a: va, b: vb, delta: va === null || vb === null ? null : vb - va };
  });
}

export async function diff(store: ArtifactStore, name: string, a: number, b: number): Promise<VersionDiff> {
  const [va, vb] = await Promise.all([readVersion(store, name, a), readVersion(store, name, b)]);
  const classes = [...new Set([...Object.keys(va.metrics.classes), ...Object.keys(vb.metrics.classes)])];
  return {
    a: va,
    b: vb,
    sameEvaluationData: va.evaluationData.fingerprint === vb.evaluationData.fingerprint,
    rows: [
      ...rowsOf('mean', va.metrics.mean, vb.metrics.mean),
      ...classes.flatMap((c) => rowsOf(c, va.metrics.classes[c], vb.metrics.classes[c])),
    ],
  };
}

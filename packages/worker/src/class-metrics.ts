/**
 * A class's benchmark numbers from its test images' scores, labels, maps and masks: every metric
 * that is defined, null for the others with a note saying why (the report prints n/a), so one
 * class without defect pixels or without normal images does not cost the run its report.
 */
import { DEFAULT_CURVE_BINS, averagePrecision, auroc, computeAllMetrics, f1Max, rankScores } from '@pmamba/metrics';
import { METRIC_NAMES, type ClassMetrics, type EvaluationRecord, type MetricName, type RunRecord } from '@pmamba/protocol';

function imageMetrics(scores: Float32Array, labels: Uint8Array): ClassMetrics {
  const ranking = rankScores(scores, labels);
  return { i_auroc: auroc(ranking), i_ap: averagePrecision(ranking), i_f1max: f1Max(ranking), p_auroc: null, p_ap: null, p_f1max: null, au_pro: null, mad: null };
}

const PIXEL_METRICS = ['p_auroc', 'p_ap', 'p_f1max', 'au_pro'] as const;

/** `anomalous`: how many of `labels` are 1; `pixelLabels`: whether the dataset has masks at all. */
export function classMetrics(
  d: { scores: Float32Array; labels: Uint8Array; maps: Float32Array; masks: Uint8Array; size: number; anomalous: number },
  pixelLabels: boolean,
  evaluation: RunRecord['config']['evaluation'],
): { metrics: ClassMetrics; curves?: EvaluationRecord['curves'] } {
  const n = d.labels.length;
  if (d.anomalous === 0 || d.anomalous === n) {
    const none = Object.fromEntries(METRIC_NAMES.map((k) => [k, null])) as Record<MetricName, null>;
    return { metrics: { ...none, notes: [`every metric: ${n - d.anomalous} normal and ${d.anomalous} anomalous readable test images; metrics need both`] } };
  }
  let defectPixels = 0;
  for (const v of d.masks) defectPixels += v;
  if (!pixelLabels || defectPixels === 0) {
    const why = pixelLabels ? `all ${d.anomalous} defect masks are empty (black)` : 'the dataset has no defect masks';
    return { metrics: { ...imageMetrics(d.scores, d.labels), notes: [`pixel metrics (${PIXEL_METRICS.join(', ')}) and mAD: ${why}`] } };
  }
  const all = computeAllMetrics(
    { scores: d.scores, labels: d.labels, maps: d.maps, masks: d.masks, shape: [n, d.size, d.size] },
    { fprLimit: evaluation.auProMaxFpr, ader: evaluation.approximations, curveBins: DEFAULT_CURVE_BINS },
  );
  return { metrics: { ...all.metrics, ...(all.extra ? { extras: { ...all.extra } } : {}) }, curves: all.curves };
}


/**
 * The seven benchmark metrics, their JSON keys and printed names, and mAD (their mean).
 * Values are fractions in [0, 1]; tables print them as percentages.
 */

/** JSON keys of the seven metrics, in the order papers print them. */
export const METRIC_KEYS = ['i_auroc', 'i_ap', 'i_f1max', 'p_auroc', 'p_ap', 'p_f1max', 'au_pro'] as const;

/** One of the seven metrics. */
export type MetricKey = (typeof METRIC_KEYS)[number];

/** A table column: the seven metrics and mAD. */
export type MetricColumn = MetricKey | 'mad';

/** All table columns, mAD last. */
export const METRIC_COLUMNS: readonly MetricColumn[] = [...METRIC_KEYS, 'mad'];

/** The seven metrics plus mAD, as fractions. */
export type MetricSet = Record<MetricColumn, number>;

/** Printed names (MambaAD / ADer spelling). */
export const METRIC_LABELS: Readonly<Record<MetricColumn, string>> = {
  i_auroc: 'I-AUROC',
  i_ap: 'I-AP',
  i_f1max: 'I-F1max',
  p_auroc: 'P-AUROC',
  p_ap: 'P-AP',
  p_f1max: 'P-F1max',
  au_pro: 'AU-PRO',
  mad: 'mAD',
};

/** mAD: the mean of the seven metrics (NaN if any is missing or NaN). */
export function meanAnomalyDetection(values: Partial<Record<MetricKey, number>>): number {
  let sum = 0;
  for (const k of METRIC_KEYS) {
    const v = values[k];
    if (typeof v !== 'number' || Number.isNaN(v)) return NaN;
    sum += v;
  }
  return sum / METRIC_KEYS.length;
}

/** Completes the seven metrics with their mAD. */
export function withMad(values: Record<MetricKey, number>): MetricSet {
  return { ...values, mad: meanAnomalyDetection(values) };
}

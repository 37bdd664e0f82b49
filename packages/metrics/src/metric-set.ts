/**
 * The seven benchmark metrics' printed names and mAD (their mean). Their JSON keys
 * (METRIC_KEYS, METRIC_NAMES) belong to @pmamba/protocol: job results and reports carry them.
 * Values are fractions in [0, 1]; tables print them as percentages.
 */
import { METRIC_KEYS, type MetricKey, type MetricName } from '@pmamba/protocol';

/** The seven metrics plus mAD, as fractions. */
export type MetricSet = Record<MetricName, number>;

/** Printed names (MambaAD / ADer spelling). */
export const METRIC_LABELS: Readonly<Record<MetricName, string>> = {
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

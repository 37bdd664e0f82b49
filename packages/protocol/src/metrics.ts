/**
 * Benchmark numbers as they travel in job results and reports: fractions in [0, 1] (tables
 * show percentages), null where a metric is undefined for a class (e.g. pixel metrics
 * without masks).
 */
import { z } from 'zod';
import { ClassNameSchema } from './primitives.ts';

/** JSON keys of the seven benchmark metrics, in the order papers print them. */
export const METRIC_KEYS = ['i_auroc', 'i_ap', 'i_f1max', 'p_auroc', 'p_ap', 'p_f1max', 'au_pro'] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];
/** The seven plus mAD (their mean), last: the columns of every table and report. */
export const METRIC_NAMES = [...METRIC_KEYS, 'mad'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

const metric = () =>
  z
    .number({ error: 'expected a metric value in [0, 1] or null' })
    .min(0, { error: 'expected a metric value in [0, 1] or null' })
    .max(1, { error: 'expected a metric value in [0, 1] or null' })
    .nullable();

// Built from METRIC_NAMES so the schema cannot drift from the list (mad: mean of the seven).
const metricValues = Object.fromEntries(METRIC_NAMES.map((k) => [k, metric()])) as Record<MetricName, ReturnType<typeof metric>>;

export const ClassMetricsSchema = z.strictObject({
  ...metricValues,
  /** Named extras, e.g. the reference evaluator's approximate P-F1max and AU-PRO. */
  extras: z.record(z.string().min(1), metric()).optional(),
  /** Why some metrics are null for this class (tables print them as n/a with these lines). */
  notes: z.array(z.string().min(1)).optional(),
});
export type ClassMetrics = z.infer<typeof ClassMetricsSchema>;

/** The benchmark table: per class, and the mean over classes (report.json has this shape). */
export const ReportTableSchema = z.strictObject({
  classes: z.record(ClassNameSchema, ClassMetricsSchema),
  mean: ClassMetricsSchema,
});
export type ReportTable = z.infer<typeof ReportTableSchema>;

/**
 * Benchmark numbers as they travel in job results and reports: fractions in [0, 1] (tables
 * show percentages), null where a metric is undefined for a class (e.g. pixel metrics
 * without masks).
 */
import { z } from 'zod';
import { ClassNameSchema } from './primitives.ts';

const metric = () =>
  z
    .number({ error: 'expected a metric value in [0, 1] or null' })
    .min(0, { error: 'expected a metric value in [0, 1] or null' })
    .max(1, { error: 'expected a metric value in [0, 1] or null' })
    .nullable();

export const ClassMetricsSchema = z.strictObject({
  i_auroc: metric(),
  i_ap: metric(),
  i_f1max: metric(),
  p_auroc: metric(),
  p_ap: metric(),
  p_f1max: metric(),
  au_pro: metric(),
  /** Mean of the seven above. */
  mad: metric(),
  /** Named extras, e.g. the reference evaluator's approximate P-F1max and AU-PRO. */
  extras: z.record(z.string().min(1), metric()).optional(),
});
export type ClassMetrics = z.infer<typeof ClassMetricsSchema>;

/** The benchmark table: per class, and the mean over classes (report.json has this shape). */
export const ReportTableSchema = z.strictObject({
  classes: z.record(ClassNameSchema, ClassMetricsSchema),
  mean: ClassMetricsSchema,
});
export type ReportTable = z.infer<typeof ReportTableSchema>;

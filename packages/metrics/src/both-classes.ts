/**
 * The guard every threshold metric shares: scikit-learn refuses ROC AUC when y_true holds one
 * class, and AP / F1max / AU-PRO are as meaningless there, so all of them raise E_ONE_CLASS.
 */
import { MetricsError } from './errors.ts';
import type { Ranking } from './ranking.ts';

/** Throws E_ONE_CLASS unless the ranking has both positives and negatives. */
export function requireBothClasses(ranking: Ranking, metric: string): void {
  if (ranking.positives > 0 && ranking.negatives > 0) return;
  const field = ranking.kind === 'image' ? 'labels' : 'masks';
  const what =
    ranking.kind === 'image'
      ? ranking.positives === 0
        ? 'no anomalous image (every label is 0)'
        : 'no normal image (every label is 1)'
      : ranking.positives === 0
        ? 'no anomalous pixel (every mask is empty)'
        : 'no normal pixel (every mask is full)';
  throw new MetricsError(
    'E_ONE_CLASS',
    `${metric} is undefined: ${field} contain ${what}; evaluate on a set with both normal and anomalous samples`,
    field,
  );
}

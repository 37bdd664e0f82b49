/**
 * Best F1 score over every threshold of scikit-learn's `precision_recall_curve` (one per
 * distinct score, ties entering together): max 2·P·R / (P + R) = max 2·tp / (tp + fp + positives).
 *
 * @example
 * f1Max(rankScores([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])); // 0.8
 */
import { requireBothClasses } from './both-classes.ts';
import { runFold, type Ranking, type RankingFold, type TieGroups } from './ranking.ts';

/** Best F1 and the threshold (lowest score counted anomalous) that reaches it. */
export interface F1MaxResult {
  f1: number;
  threshold: number;
}

/** A fold computing F1max in a shared sweep. Throws E_ONE_CLASS when a class is missing. */
export function f1MaxFold(ranking: Ranking, metric = 'F1max'): RankingFold<F1MaxResult> {
  requireBothClasses(ranking, metric);
  const P = ranking.positives;
  let tp = 0;
  let fp = 0;
  let best = 0;
  let threshold = NaN;
  return {
    add(g: TieGroups) {
      const { positives, negatives, score } = g;
      for (let k = 0; k < g.length; k++) {
        tp += positives[k];
        fp += negatives[k];
        const f1 = (2 * tp) / (tp + fp + P);
        if (f1 > best) {
          best = f1;
          threshold = score[k];
        }
      }
    },
    result: () => ({ f1: best, threshold }),
  };
}

/** F1max of a ranking (image or pixel level). */
export function f1Max(ranking: Ranking): number {
  return runFold(ranking, f1MaxFold(ranking)).f1;
}

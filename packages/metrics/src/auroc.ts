/**
 * Area under the ROC curve, exactly as scikit-learn's `roc_auc_score` for binary labels: one
 * ROC point per distinct score (tied scores move FPR and TPR together), trapezoidal area.
 * Equivalently the Mann–Whitney probability that an anomalous sample outscores a normal one,
 * ties counting one half.
 *
 * @example
 * auroc(rankScores([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])); // 0.75
 */
import { requireBothClasses } from './both-classes.ts';
import { runFold, type Ranking, type RankingFold, type TieGroups } from './ranking.ts';

/** A fold computing AUROC in a shared sweep. Throws E_ONE_CLASS when a class is missing. */
export function aurocFold(ranking: Ranking, metric = 'AUROC'): RankingFold<number> {
  requireBothClasses(ranking, metric);
  const { positives: P, negatives: N } = ranking;
  let tp = 0;
  // Σ Δfp · (tp_before + tp_after): integers, exact in float64 up to 2^53 (≈ 134 M² / 2 pixels).
  let area2 = 0;
  return {
    add(g: TieGroups) {
      const { positives, negatives } = g;
      for (let k = 0; k < g.length; k++) {
        const tpNext = tp + positives[k];
        area2 += negatives[k] * (tp + tpNext);
        tp = tpNext;
      }
    },
    result: () => area2 / (2 * N) / P,
  };
}

/** AUROC of a ranking (image or pixel level). */
export function auroc(ranking: Ranking): number {
  return runFold(ranking, aurocFold(ranking));
}

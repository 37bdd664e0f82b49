/**
 * Average precision as scikit-learn's `average_precision_score`: Σ (Rₖ − Rₖ₋₁)·Pₖ over distinct
 * score thresholds, highest first, with no interpolation; a tie group enters as one step.
 *
 * @example
 * averagePrecision(rankScores([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])); // (1 + 2/3) / 2
 */
import { requireBothClasses } from './both-classes.ts';
import { runFold, type Ranking, type RankingFold, type TieGroups } from './ranking.ts';

/** A fold computing AP in a shared sweep. Throws E_ONE_CLASS when a class is missing. */
export function averagePrecisionFold(ranking: Ranking, metric = 'AP'): RankingFold<number> {
  requireBothClasses(ranking, metric);
  const P = ranking.positives;
  let tp = 0;
  let fp = 0;
  let sum = 0; // Σ Δtp · precision
  return {
    add(g: TieGroups) {
      const { positives, negatives } = g;
      for (let k = 0; k < g.length; k++) {
        const dtp = positives[k];
        tp += dtp;
        fp += negatives[k];
        if (dtp !== 0) sum += (dtp * tp) / (tp + fp);
      }
    },
    result: () => sum / P,
  };
}

/** Average precision of a ranking (image or pixel level). */
export function averagePrecision(ranking: Ranking): number {
  return runFold(ranking, averagePrecisionFold(ranking));
}

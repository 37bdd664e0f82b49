/**
 * ROC, precision-recall and PRO curves for plots, decimated to a fixed resolution while they
 * stream out of a ranking (see `curveDecimator`). The points are those of scikit-learn's
 * `roc_curve` / `precision_recall_curve` and of the MVTec AD PRO curve, one per distinct score.
 *
 * @example
 * const roc = rocCurveFold(r), pr = prCurveFold(r);
 * foldRanking(r, [roc, pr]);
 * curveSvg({ title: 'ROC', series: [{ name: 'pixels', curve: roc.result() }] });
 */
import { requirePixelRanking } from './au-pro.ts';
import { requireBothClasses } from './both-classes.ts';
import { curveDecimator, type Curve } from './curve-decimation.ts';
import type { Ranking, RankingFold, TieGroups } from './ranking.ts';

/** Default number of x columns a curve is decimated to. */
export const DEFAULT_CURVE_BINS = 256;

/** ROC curve: x = false-positive rate, y = true-positive rate, from (0, 0) to (1, 1). */
export function rocCurveFold(ranking: Ranking, bins = DEFAULT_CURVE_BINS): RankingFold<Curve> {
  requireBothClasses(ranking, 'ROC curve');
  const { positives: P, negatives: N } = ranking;
  const d = curveDecimator(bins);
  d.push(0, 0);
  let tp = 0;
  let fp = 0;
  return {
    add(g: TieGroups) {
      for (let k = 0; k < g.length; k++) {
        tp += g.positives[k];
        fp += g.negatives[k];
        d.push(fp / N, tp / P);
      }
    },
    result: () => d.result(),
  };
}

/**
 * Precision-recall curve: x = recall, y = precision, starting at (0, 1) as scikit-learn's does
 * and following the threshold down to the lowest score.
 */
export function prCurveFold(ranking: Ranking, bins = DEFAULT_CURVE_BINS): RankingFold<Curve> {
  requireBothClasses(ranking, 'PR curve');
  const P = ranking.positives;
  const d = curveDecimator(bins);
  d.push(0, 1);
  let tp = 0;
  let fp = 0;
  return {
    add(g: TieGroups) {
      for (let k = 0; k < g.length; k++) {
        tp += g.positives[k];
        fp += g.negatives[k];
        d.push(tp / P, tp / (tp + fp));
      }
    },
    result: () => d.result(),
  };
}

/** PRO curve (MVTec AD): x = FPR on normal pixels, y = mean per-region overlap, to (1, 1). */
export function proCurveFold(ranking: Ranking, bins = DEFAULT_CURVE_BINS): RankingFold<Curve> {
  requirePixelRanking(ranking, 'PRO curve');
  const { negatives: N, regions: R } = ranking;
  const d = curveDecimator(bins);
  d.push(0, 0);
  let fp = 0;
  let w = 0;
  let closed = false;
  return {
    add(g: TieGroups) {
      for (let k = 0; k < g.length; k++) {
        fp += g.negatives[k];
        w += g.regionWeight[k];
        d.push(Math.min(fp / N, 1), Math.min(w / R, 1));
      }
    },
    result() {
      if (!closed) d.push(1, 1);
      closed = true;
      return d.result();
    },
  };
}

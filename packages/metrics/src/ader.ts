/**
 * The approximations of the committed Pyramid Mamba / ADer evaluator, offered as named extras
 * for comparing with numbers it printed. They are NOT part of mAD; the exact metrics are.
 *
 * - `p_f1max_ader_grid`: pixel F1max over the 21 thresholds 0, 0.05, …, 1 of min-max-normalised
 *   maps (`norm > t`), with its ε = 1e-8 terms.
 * - `au_pro_ader_100`: PRO and FPR at 100 equally spaced thresholds from the lowest map value
 *   (`numpy.arange(lo, hi, (hi − lo) / 100)`, `map > t`), points with FPR < 0.3 kept, their FPR
 *   min-max rescaled to [0, 1], trapezoidal area (scikit-learn `auc`).
 *
 * Both are NaN where the evaluator would fail or produce NaN: constant maps, or fewer than two
 * AU-PRO points below FPR 0.3, or no spread of FPR among them.
 */
import { requirePixelRanking } from './au-pro.ts';
import { type Ranking, type RankingFold, type TieGroups } from './ranking.ts';

/** The evaluator's extras, keyed as in the CLI's JSON. */
export interface AderExtras {
  p_f1max_ader_grid: number;
  au_pro_ader_100: number;
}

/**
 * Counts, for each threshold (ascending), how much of the ranking scores strictly above it;
 * `value(score)` maps a score to the quantity compared (non-decreasing in the score).
 */
function aboveThresholds(
  thresholds: Float64Array,
  value: (score: number) => number,
  ranking: Ranking,
): RankingFold<{ positives: Float64Array; negatives: Float64Array; weight: Float64Array }> {
  const T = thresholds.length;
  const positives = new Float64Array(T);
  const negatives = new Float64Array(T);
  const weight = new Float64Array(T);
  let t = T - 1;
  let tp = 0;
  let fp = 0;
  let w = 0;
  return {
    add(g: TieGroups) {
      for (let k = 0; k < g.length && t >= 0; k++) {
        const v = value(g.score[k]);
        while (t >= 0 && thresholds[t] >= v) {
          positives[t] = tp;
          negatives[t] = fp;
          weight[t] = w;
          t--;
        }
        tp += g.positives[k];
        fp += g.negatives[k];
        w += g.regionWeight[k];
      }
    },
    result() {
      for (; t >= 0; t--) {
        positives[t] = ranking.positives;
        negatives[t] = ranking.negatives;
        weight[t] = w;
      }
      return { positives, negatives, weight };
    },
  };
}

/** numpy.arange(start, stop, step) for floats, reproducing numpy's length and fill rule. */
export function numpyArange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(length);
  if (length === 0) return out;
  out[0] = start;
  if (length > 1) out[1] = start + step;
  const delta = out[1] - start; // numpy fills from the first two values
  for (let i = 2; i < length; i++) out[i] = start + i * delta;
  return out;
}

const EPS = 1e-8;

/** A fold computing the evaluator's 21-threshold P-F1max. */
export function aderF1MaxGridFold(ranking: Ranking): RankingFold<number> {
  requirePixelRanking(ranking, 'P-F1max (ADer grid)');
  const lo = ranking.minScore;
  const range = ranking.maxScore - lo;
  const thresholds = numpyArange(0, 1 + 1e-3, 0.05);
  const counts = aboveThresholds(thresholds, (s) => (s - lo) / range, ranking);
  return {
    add: (g) => {
      if (range > 0) counts.add(g);
    },
    result() {
      if (!(range > 0)) return 0; // every normalised value is NaN: nothing is ever predicted
      const { positives, negatives } = counts.result();
      const gt = ranking.positives;
      let best = 0;
      for (let t = 0; t < thresholds.length; t++) {
        const inter = positives[t];
        const predicted = positives[t] + negatives[t];
        const precision = inter / (predicted + EPS);
        const recall = inter / (gt + EPS);
        best = Math.max(best, (2 * precision * recall) / (precision + recall + EPS));
      }
      return best;
    },
  };
}

/** A fold computing the evaluator's 100-threshold AU-PRO. */
export function aderAuProFold(ranking: Ranking, steps = 100, expectFpr = 0.3): RankingFold<number> {
  requirePixelRanking(ranking, 'AU-PRO (ADer, 100 thresholds)');
  const lo = ranking.minScore;
  const hi = ranking.maxScore;
  const thresholds = hi > lo ? numpyArange(lo, hi, (hi - lo) / steps) : new Float64Array(0);
  const counts = aboveThresholds(thresholds, (s) => s, ranking);
  return {
    add: (g) => counts.add(g),
    result() {
      if (thresholds.length === 0) return NaN;
      const { negatives, weight } = counts.result();
      const fprs: number[] = [];
      const pros: number[] = [];
      for (let t = 0; t < thresholds.length; t++) {
        const fpr = negatives[t] / ranking.negatives;
        if (fpr < expectFpr) {
          fprs.push(fpr);
          pros.push(weight[t] / ranking.regions);
        }
      }
      if (fprs.length < 2) return NaN; // scikit-learn's auc needs two points
      const fMin = Math.min(...fprs);
      const fMax = Math.max(...fprs);
      const x = fprs.map((f) => (f - fMin) / (fMax - fMin));
      let area = 0;
      for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (pros[i] + pros[i - 1])) / 2;
      // FPR falls as the threshold rises, so x decreases: scikit-learn flips the sign.
      return x.some((d, i) => i > 0 && d < x[i - 1]) ? -area : area;
    },
  };
}

/**
 * AU-PRO as the MVTec AD evaluation defines it: ground-truth masks split into connected regions
 * (8-connectivity by default, see `rankPixels`); while the threshold falls, PRO is the mean over
 * all regions of the fraction of each region above it and FPR the fraction of normal pixels
 * above it. The curve runs from (0, 0) through one point per distinct score to (1, 1); its
 * trapezoidal area up to `fprLimit` (the PRO there interpolated linearly) is divided by
 * `fprLimit`.
 *
 * @example
 * auPro(rankPixels(maps, masks, [n, h, w]));               // integrated to FPR 0.3
 * auPro(rankPixels(maps, masks, [n, h, w]), { fprLimit: 0.05 });
 */
import { requireBothClasses } from './both-classes.ts';
import { MetricsError } from './errors.ts';
import { runFold, type Ranking, type RankingFold, type TieGroups } from './ranking.ts';

/** Options of AU-PRO. */
export interface AuProOptions {
  /** FPR up to which the PRO curve is integrated, in (0, 1]. Default 0.3 (MVTec AD). */
  fprLimit?: number;
}

/** Default integration limit of the MVTec AD benchmark. */
export const DEFAULT_FPR_LIMIT = 0.3;

/** Throws E_ARGUMENT unless `fprLimit` lies in (0, 1]. */
export function checkFprLimit(fprLimit: number): void {
  if (!(typeof fprLimit === 'number' && fprLimit > 0 && fprLimit <= 1)) {
    throw new MetricsError('E_ARGUMENT', `fprLimit must be a number in (0, 1], got ${String(fprLimit)}`, 'fprLimit');
  }
}

/** Throws unless the ranking is a pixel ranking with both classes. */
export function requirePixelRanking(ranking: Ranking, metric: string): void {
  if (ranking.kind !== 'pixel' || ranking.positiveRegionWeights === undefined) {
    throw new MetricsError('E_ARGUMENT', `${metric} needs a pixel ranking (rankPixels), not an image ranking`, 'ranking');
  }
  requireBothClasses(ranking, metric);
}

/** A fold computing AU-PRO in a shared sweep. Throws E_ONE_CLASS when a class is missing. */
export function auProFold(ranking: Ranking, options: AuProOptions = {}, metric = 'AU-PRO'): RankingFold<number> {
  const limit = options.fprLimit ?? DEFAULT_FPR_LIMIT;
  checkFprLimit(limit);
  requirePixelRanking(ranking, metric);
  const N = ranking.negatives;
  const R = ranking.regions;
  let fp = 0;
  let weight = 0;
  // Last curve point with FPR ≤ limit; the curve starts at (0, 0).
  let xPrev = 0;
  let yPrev = 0;
  let area = 0;
  let done = false;

  const step = (x: number, y: number): void => {
    if (x <= limit) {
      area += ((x - xPrev) * (y + yPrev)) / 2;
      xPrev = x;
      yPrev = y;
      return;
    }
    if (xPrev < limit) {
      const yAt = yPrev + ((y - yPrev) * (limit - xPrev)) / (x - xPrev);
      area += ((limit - xPrev) * (yAt + yPrev)) / 2;
    }
    done = true;
  };

  return {
    add(g: TieGroups) {
      if (done) return;
      const { negatives, regionWeight } = g;
      for (let k = 0; k < g.length; k++) {
        fp += negatives[k];
        weight += regionWeight[k];
        step(Math.min(fp / N, 1), Math.min(weight / R, 1));
        if (done) return;
      }
    },
    result() {
      if (!done) step(1, 1); // the curve's closing point (1, 1)
      done = true;
      return area / limit;
    },
  };
}

/** AU-PRO of a pixel ranking. */
export function auPro(ranking: Ranking, options: AuProOptions = {}): number {
  return runFold(ranking, auProFold(ranking, options));
}

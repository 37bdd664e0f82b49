/**
 * All seven benchmark metrics and mAD for one set of images (a class, or a whole data set),
 * computed from two rankings (one sort of the image scores, one of the pixels) and one sweep of
 * each. Optional extras: the committed evaluator's approximations and decimated curves.
 *
 * @example
 * const { metrics } = computeAllMetrics({ scores, labels, maps, masks, shape: [n, 256, 256] });
 * metrics.p_ap; // exact pixel AP, as scikit-learn computes it
 */
import { aderAuProFold, aderF1MaxGridFold, type AderExtras } from './ader.ts';
import { auProFold, DEFAULT_FPR_LIMIT } from './au-pro.ts';
import { aurocFold } from './auroc.ts';
import { averagePrecisionFold } from './average-precision.ts';
import type { Connectivity } from './connected-components.ts';
import type { Curve } from './curve-decimation.ts';
import { prCurveFold, proCurveFold, rocCurveFold } from './curves.ts';
import { f1MaxFold } from './f1max.ts';
import { withMad, type MetricSet } from './metric-set.ts';
import { foldRanking, rankPixels, rankScores, type RankingFold } from './ranking.ts';

/** Inputs of one evaluation. */
export interface MetricsInput {
  /** One anomaly score per image (higher = more anomalous). */
  scores: ArrayLike<number>;
  /** One label per image: 1 anomalous, 0 normal. */
  labels: ArrayLike<number | boolean>;
  /** Anomaly maps, `shape` = [n, h, w], row-major. */
  maps: Float32Array;
  /** Ground-truth masks, same shape; non-zero = anomalous pixel. */
  masks: Uint8Array;
  /** [n, h, w] of `maps` and `masks`. */
  shape: readonly [number, number, number];
}

/** Options of `computeAllMetrics`. */
export interface AllMetricsOptions {
  /** AU-PRO integration limit, in (0, 1]. Default 0.3. */
  fprLimit?: number;
  /** Region connectivity for AU-PRO. Default 8 (MVTec AD). */
  connectivity?: Connectivity;
  /** Also compute the committed evaluator's approximations (`extra`). Default false. */
  ader?: boolean;
  /** Also return ROC / PR (/ PRO) curves decimated to this many x columns (e.g. DEFAULT_CURVE_BINS). Default: none. */
  curveBins?: number;
  /** Names used in error messages (e.g. file names). Defaults: scores, labels, maps, masks. */
  fields?: { scores: string; labels: string; maps: string; masks: string };
}

/** Curves for plots (see `curves.ts`). */
export interface MetricCurves {
  image: { roc: Curve; pr: Curve };
  pixel: { roc: Curve; pr: Curve; pro: Curve };
}

/** Everything `computeAllMetrics` returns. */
export interface AllMetricsResult {
  /** The seven metrics and mAD, fractions in [0, 1]. */
  metrics: MetricSet;
  /** Scores at which I-F1max and P-F1max are reached (lowest score called anomalous). */
  thresholds: { image: number; pixel: number };
  /** The evaluator's approximations, when `ader` is set; not part of mAD. */
  extra?: AderExtras;
  /** Decimated curves, when `curveBins` is set. */
  curves?: MetricCurves;
}

/**
 * Computes I-AUROC, I-AP, I-F1max, P-AUROC, P-AP, P-F1max, AU-PRO and mAD.
 * Throws MetricsError: E_SHAPE, E_NOT_FINITE, E_LABEL_VALUE, and E_ONE_CLASS when the labels or
 * the masks hold a single class (scikit-learn refuses ROC AUC there; we refuse every metric).
 */
export function computeAllMetrics(input: MetricsInput, options: AllMetricsOptions = {}): AllMetricsResult {
  const fields = options.fields ?? { scores: 'scores', labels: 'labels', maps: 'maps', masks: 'masks' };
  const fprLimit = options.fprLimit ?? DEFAULT_FPR_LIMIT;

  const images = rankScores(input.scores, input.labels, fields);
  const iAuroc = aurocFold(images, 'I-AUROC');
  const iAp = averagePrecisionFold(images, 'I-AP');
  const iF1 = f1MaxFold(images, 'I-F1max');
  const imageFolds: RankingFold<unknown>[] = [iAuroc, iAp, iF1];
  const bins = options.curveBins;
  const iRoc = bins ? rocCurveFold(images, bins) : undefined;
  const iPr = bins ? prCurveFold(images, bins) : undefined;
  if (iRoc && iPr) imageFolds.push(iRoc, iPr);
  foldRanking(images, imageFolds);

  const pixels = rankPixels(input.maps, input.masks, input.shape, {
    connectivity: options.connectivity,
    fields: { maps: fields.maps, masks: fields.masks },
  });
  const pAuroc = aurocFold(pixels, 'P-AUROC');
  const pAp = averagePrecisionFold(pixels, 'P-AP');
  const pF1 = f1MaxFold(pixels, 'P-F1max');
  const pro = auProFold(pixels, { fprLimit });
  const pixelFolds: RankingFold<unknown>[] = [pAuroc, pAp, pF1, pro];
  const aderGrid = options.ader ? aderF1MaxGridFold(pixels) : undefined;
  const aderPro = options.ader ? aderAuProFold(pixels) : undefined;
  if (aderGrid && aderPro) pixelFolds.push(aderGrid, aderPro);
  const pRoc = bins ? rocCurveFold(pixels, bins) : undefined;
  const pPr = bins ? prCurveFold(pixels, bins) : undefined;
  const pPro = bins ? proCurveFold(pixels, bins) : undefined;
  if (pRoc && pPr && pPro) pixelFolds.push(pRoc, pPr, pPro);
  foldRanking(pixels, pixelFolds);

  const iBest = iF1.result();
  const pBest = pF1.result();
  const result: AllMetricsResult = {
    metrics: withMad({
      i_auroc: iAuroc.result(),
      i_ap: iAp.result(),
      i_f1max: iBest.f1,
      p_auroc: pAuroc.result(),
      p_ap: pAp.result(),
      p_f1max: pBest.f1,
      au_pro: pro.result(),
    }),
    thresholds: { image: iBest.threshold, pixel: pBest.threshold },
  };
  if (aderGrid && aderPro) {
    result.extra = { p_f1max_ader_grid: aderGrid.result(), au_pro_ader_100: aderPro.result() };
  }
  if (iRoc && iPr && pRoc && pPr && pPro) {
    result.curves = {
      image: { roc: iRoc.result(), pr: iPr.result() },
      pixel: { roc: pRoc.result(), pr: pPr.result(), pro: pPro.result() },
    };
  }
  return result;
}

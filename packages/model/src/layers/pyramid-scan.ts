/**
 * The Pyramidal Scanning Strategy: SS2D's cross scan over the whole map and over windows.
 *
 * - `{ levels: n }`: level l (1..n) splits the input into 2^(l−1)×2^(l−1) windows, scans each
 *   window separately with the same weights and puts them back; the result is the mean of the
 *   n levels. The map's sides must divide by 2^(n−1).
 * - `{ reference: true, level3Threshold }`: the committed PyTorch code (`SS2D.pyramid`): level 1
 *   scans the map, level 2 its 2×2 quadrants; when W > level3Threshold, level 3 splits each
 *   level-2 *output* quadrant again into 2×2 and re-scans those; the mean of the levels used.
 *
 * @example
 * const y = pyramidScan(x, params, { levels: 2 });                          // x [B,H,W,Di]
 * const yRef = pyramidScan(x, params, { reference: true, level3Threshold: 64 });
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossScan, type ScanParams } from './cross-scan.ts';
import { PyramidScanError } from '../errors.ts';

export { crossScan, SCAN_DIRECTIONS, type ScanParams } from './cross-scan.ts';

/** How many pyramid levels a scan uses. */
export type PyramidMode =
  /** Levels 1..levels over windows of the input. */
  | { readonly levels: 1 | 2 | 3 | 4 }
  /** The committed reference; level 3 only for maps wider than level3Threshold (reference default 64). */
  | { readonly reference: true; readonly level3Threshold: number };

/**
 * [B,H,W,D] → [B·s²,H/s,W/s,D]: window (i, j) of image b goes to batch index b·s² + i·s + j
 * (for s = 2 the reference's `to_quadrants` order).
 */
export function toWindows(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [B, H, W, D] = x.shape;
  if (H % s !== 0 || W % s !== 0) {
    throw new PyramidScanError(`pyramid scan: a ${H}×${W} map cannot be split into ${s}×${s} windows; ` +
      `its sides must be divisible by ${s} (choose fewer pyramid levels or another image size)`);
  }
  if (s === 1) return tf.clone(x);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [B, s, H / s, s, W / s, D]), [0, 1, 3, 2, 4, 5]),
    [B * s * s, H / s, W / s, D]));
}

/** Inverse of toWindows: [B·s²,h,w,D] → [B,s·h,s·w,D]. */
export function fromWindows(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [Bs, h, w, D] = x.shape;
  if (Bs % (s * s) !== 0) throw new PyramidScanError(`pyramid scan: batch ${Bs} is not a multiple of ${s * s} windows`);
  if (s === 1) return tf.clone(x);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [Bs / (s * s), s, s, h, w, D]), [0, 1, 3, 2, 4, 5]),
    [Bs / (s * s), s * h, s * w, D]));
}

/** Cross scan of each s×s window of x, reassembled: [B,H,W,D] → [B,H,W,D]. */
export function windowScan(x: tf.Tensor4D, p: ScanParams, s: number): tf.Tensor4D {
  return tf.tidy(() => fromWindows(crossScan(toWindows(x, s), p), s));
}

/** SS2D's scan core with pyramid levels: x [B,H,W,Di] → [B,H,W,Di]. */
export function pyramidScan(x: tf.Tensor4D, p: ScanParams, mode: PyramidMode): tf.Tensor4D {
  if ('reference' in mode) return referencePyramid(x, p, mode.level3Threshold);
  const n = mode.levels;
  if (!Number.isInteger(n) || n < 1 || n > 4) throw new PyramidScanError(`pyramid scan: levels must be 1, 2, 3 or 4, got ${n}`);
  const s = 2 ** (n - 1);
  const [, H, W] = x.shape;
  if (H % s !== 0 || W % s !== 0) {
    throw new PyramidScanError(`pyramid scan: ${n} levels need map sides divisible by ${s}, got ${H}×${W}`);
  }
  return tf.tidy(() => {
    const ys: tf.Tensor4D[] = [];
    for (let l = 0; l < n; l++) ys.push(l === 0 ? crossScan(x, p) : windowScan(x, p, 2 ** l));
    return (n === 1 ? ys[0] : tf.div(tf.addN(ys), n)) as tf.Tensor4D;
  });
}

function referencePyramid(x: tf.Tensor4D, p: ScanParams, level3Threshold: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  const level3 = W > level3Threshold;
  const need = level3 ? 4 : 2;
  if (H % need !== 0 || W % need !== 0) {
    throw new PyramidScanError(`pyramid scan (reference mode, level-3 threshold ${level3Threshold}): a ${H}×${W} map ` +
      `needs sides divisible by ${need}`);
  }
  return tf.tidy(() => {
    const y1 = crossScan(x, p);
    const y2q = crossScan(toWindows(x, 2), p); // quadrants, batch-major
    if (!level3) return tf.div(tf.add(fromWindows(y2q, 2), y1), 2) as tf.Tensor4D;
    const y3q = fromWindows(crossScan(toWindows(y2q, 2), p), 2); // re-scans level-2 outputs
    return tf.div(tf.add(tf.add(fromWindows(y2q, 2), y1), fromWindows(y3q, 2)), 3) as tf.Tensor4D;
  });
}

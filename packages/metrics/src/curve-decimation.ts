/**
 * Streaming min-max decimation of a curve whose x never decreases (ROC, PR by recall, PRO):
 * the x range [0, 1] is cut into `bins` columns and, per column, only the first, last, lowest
 * and highest points are kept, in their original order. A plot of the result is the plot of
 * the full curve at that resolution (a hundred million points become at most 4·bins + 1).
 *
 * @example
 * const d = curveDecimator(200);
 * for (const [x, y] of points) d.push(x, y);
 * const curve = d.result(); // { x: number[], y: number[] }
 */

/** A curve as plain arrays, ready for JSON and SVG. */
export interface Curve {
  x: number[];
  y: number[];
}

/** Accepts points in non-decreasing x and keeps a plot-equivalent subset. */
export interface CurveDecimator {
  push(x: number, y: number): void;
  result(): Curve;
}

/** Creates a decimator with `bins` columns over x ∈ [0, 1]. */
export function curveDecimator(bins: number): CurveDecimator {
  const out: Curve = { x: [], y: [] };
  let bin = -1;
  let n = 0; // points seen in the current bin
  // index (order of arrival), x, y of the first / min / max / last point of the current bin
  const idx = [0, 0, 0, 0];
  const xs = [0, 0, 0, 0];
  const ys = [0, 0, 0, 0];
  let arrival = 0;

  const flush = (): void => {
    if (n === 0) return;
    const order = [0, 1, 2, 3].sort((a, b) => idx[a] - idx[b]);
    let last = -1;
    for (const k of order) {
      if (idx[k] === last) continue;
      last = idx[k];
      out.x.push(xs[k]);
      out.y.push(ys[k]);
    }
    n = 0;
  };
  const set = (k: number, x: number, y: number): void => {
    idx[k] = arrival;
    xs[k] = x;
    ys[k] = y;
  };

  return {
    push(x, y) {
      const b = Math.min(Math.max(Math.floor(x * bins), 0), bins - 1);
      if (b !== bin) {
        flush();
        bin = b;
      }
      if (n === 0) {
        set(0, x, y);
        set(1, x, y);
        set(2, x, y);
      } else {
        if (y < ys[1]) set(1, x, y);
        if (y > ys[2]) set(2, x, y);
      }
      set(3, x, y);
      n++;
      arrival++;
    },
    result() {
      flush();
      return out;
    },
  };
}

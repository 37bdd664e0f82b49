import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps, PyramidMamba } from './model.ts';
import { anomalyMaps, type AnomalyMapOptions, type AnomalyMaps } from './anomaly-map.ts';
import { ResidualGaussianFit, type ResidualGaussian } from './residual-gaussian.ts';

export interface InferOptions extends Omit<AnomalyMapOptions, 'size'> {
  /** Images per forward pass. Default 8. */
  batchSize?: number;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Anomaly maps and image scores of N normalised images given as NCHW float32 (numpy's layout):
 * `images` holds n·3·size·size values.
 */
export function inferAnomalyMaps(model: PyramidMamba, images: Float32Array, n: number, size: number, opts: InferOptions = {}): AnomalyMaps {
  const maps = new Float32Array(n * size * size);
  const scores = new Float32Array(n);
  forEachBatch(model, images, n, size, opts, (at, teacher, student) => {
    const out = anomalyMaps(teacher, student, { ...opts, size });
    maps.set(out.maps, at * size * size);
    scores.set(out.scores, at);
  });
  return { maps, scores, n, size };
}

/**
 * Fits the residual-Gaussian map (residual-gaussian.ts) on N normal images (NCHW float32, like
 * inferAnomalyMaps): one forward pass over them.
 */
export function fitResidualGaussian(
  model: PyramidMamba,
  images: Float32Array,
  n: number,
  size: number,
  opts: { scales: readonly number[]; shrinkage?: number } & Pick<InferOptions, 'batchSize' | 'onProgress'>,
): ResidualGaussian {
  const fit = new ResidualGaussianFit(opts);
  addToFit(fit, model, images, n, size, opts);
  return fit.finish();
}

/** Adds N more normal images (NCHW float32) to a fit: for images that arrive in parts. */
export function addToFit(fit: ResidualGaussianFit, model: PyramidMamba, images: Float32Array, n: number, size: number, opts: Pick<InferOptions, 'batchSize' | 'onProgress'> = {}): void {
  forEachBatch(model, images, n, size, opts, (_, teacher, student) => fit.add(teacher, student));
}

/** The teacher and student maps of each batch of NCHW images, disposed after `use`. */
function forEachBatch(
  model: PyramidMamba,
  images: Float32Array,
  n: number,
  size: number,
  opts: Pick<InferOptions, 'batchSize' | 'onProgress'>,
  use: (at: number, teacher: FeatureMaps, student: FeatureMaps) => void,
): void {
  const per = 3 * size * size;
  if (images.length !== n * per) throw new RangeError(`expected ${n}×3×${size}×${size} = ${n * per} values, got ${images.length}`);
  const bs = Math.max(1, opts.batchSize ?? 8);
  for (let at = 0; at < n; at += bs) {
    const m = Math.min(bs, n - at);
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(images.subarray(at * per, (at + m) * per), [m, 3, size, size]), [0, 2, 3, 1]));
    const { teacher, student } = model.forward(x);
    x.dispose();
    try {
      use(at, teacher, student);
    } finally {
      tf.dispose([teacher, student]);
    }
    opts.onProgress?.(at + m, n);
  }
}

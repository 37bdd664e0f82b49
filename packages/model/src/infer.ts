import * as tf from '@tensorflow/tfjs-core';
import type { PyramidMamba } from './model.ts';
import { anomalyMaps, type AnomalyMapOptions, type AnomalyMaps } from './anomaly-map.ts';

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
  const per = 3 * size * size;
  if (images.length !== n * per) throw new RangeError(`expected ${n}×3×${size}×${size} = ${n * per} values, got ${images.length}`);
  const bs = Math.max(1, opts.batchSize ?? 8);
  const maps = new Float32Array(n * size * size);
  const scores = new Float32Array(n);
  for (let at = 0; at < n; at += bs) {
    const m = Math.min(bs, n - at);
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(images.subarray(at * per, (at + m) * per), [m, 3, size, size]), [0, 2, 3, 1]));
    const { teacher, student } = model.forward(x);
    x.dispose();
    const out = anomalyMaps(teacher, student, { ...opts, size });
    tf.dispose([teacher, student]);
    maps.set(out.maps, at * size * size);
    scores.set(out.scores, at);
    opts.onProgress?.(at + m, n);
  }
  return { maps, scores, n, size };
}

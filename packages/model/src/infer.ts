import * as tf from '@tensorflow/tfjs-core';
import type { FeatureMaps, PyramidMamba } from './model.ts';
import { anomalyMaps, type AnomalyMapOptions, type AnomalyMaps } from './anomaly-map.ts';
import { ResidualGaussianFit, type ResidualGaussian } from './residual-gaussian.ts';
import { MemoryBankFit, type MemoryBank } from './memory-bank.ts';

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
  const bank = opts.memoryBank;
  forEachBatch(model, images, n, size, { ...opts, inputScale: bank?.inputScale ?? 1, teacherOnly: bank?.features === 'teacher' }, (at, teacher, student) => {
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

/** Samples a memory bank (memory-bank.ts) from N normal images (NCHW float32): one forward pass over them. */
export function fitMemoryBank(
  model: PyramidMamba,
  images: Float32Array,
  n: number,
  size: number,
  opts: ConstructorParameters<typeof MemoryBankFit>[0] & Pick<InferOptions, 'batchSize' | 'onProgress'>,
): MemoryBank {
  const fit = new MemoryBankFit(opts);
  addToFit(fit, model, images, n, size, opts);
  return fit.finish();
}

/**
 * Adds N more normal images (NCHW float32) to a fit, residual-Gaussian or memory bank (seen at
 * the bank's input scale): for images that arrive in parts.
 */
export function addToFit(fit: ResidualGaussianFit | MemoryBankFit, model: PyramidMamba, images: Float32Array, n: number, size: number, opts: Pick<InferOptions, 'batchSize' | 'onProgress'> = {}): void {
  const memory = fit instanceof MemoryBankFit ? fit.settings : undefined;
  forEachBatch(model, images, n, size, { ...opts, inputScale: memory?.inputScale ?? 1, teacherOnly: memory?.features === 'teacher' }, (_, teacher, student) =>
    // The residual Gaussian always runs the student (teacherOnly is false for it).
    fit instanceof MemoryBankFit ? fit.add(teacher, student) : fit.add(teacher, student!),
  );
}

/**
 * The teacher and student maps of each batch of NCHW images, disposed after `use`; with
 * `inputScale` ≠ 1 the model sees the images bilinearly resized by that factor. With
 * `teacherOnly` the student is not run (a map of teacher features alone needs none).
 */
function forEachBatch(
  model: PyramidMamba,
  images: Float32Array,
  n: number,
  size: number,
  opts: Pick<InferOptions, 'batchSize' | 'onProgress'> & { inputScale: number; teacherOnly?: boolean },
  use: (at: number, teacher: FeatureMaps, student: FeatureMaps | undefined) => void,
): void {
  const per = 3 * size * size;
  if (images.length !== n * per) throw new RangeError(`expected ${n}×3×${size}×${size} = ${n * per} values, got ${images.length}`);
  const bs = Math.max(1, opts.batchSize ?? 8);
  for (let at = 0; at < n; at += bs) {
    const m = Math.min(bs, n - at);
    const side = Math.round(size * opts.inputScale);
    const x = tf.tidy(() => {
      const nhwc = tf.transpose(tf.tensor4d(images.subarray(at * per, (at + m) * per), [m, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D;
      return side === size ? nhwc : tf.image.resizeBilinear(nhwc, [side, side]);
    });
    const { teacher, student } = opts.teacherOnly ? { teacher: model.teacher(x), student: undefined } : model.forward(x);
    x.dispose();
    try {
      use(at, teacher, student);
    } finally {
      tf.dispose([teacher, student ?? []]);
    }
    opts.onProgress?.(at + m, n);
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { PyramidMamba } from './model.ts';
import { anomalyMaps, type AnomalyMapOptions, type AnomalyMaps } from './anomaly-map.ts';
import { ResidualGaussianFit, type ResidualGaussian } from './residual-gaussian.ts';
import { MemoryBankFit, memoryNeeds, memorySource, type MemoryBank, type MemoryBankFitOptions, type MemoryBankSettings, type ModelMaps } from './memory-bank.ts';

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
  forEachBatch(model, images, n, size, { ...opts, memory: opts.memoryBank }, (at, batch) => {
    const out = anomalyMaps(batch, { ...opts, size });
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
  opts: MemoryBankFitOptions & Pick<InferOptions, 'batchSize' | 'onProgress'> & { classes?: readonly string[] },
): MemoryBank {
  const fit = new MemoryBankFit(opts);
  addToFit(fit, model, images, n, size, opts);
  return fit.finish();
}

/**
 * Adds N more normal images (NCHW float32) to a fit, residual-Gaussian or memory bank (seen at
 * the bank's input scale): for images that arrive in parts. `classes` names each image's class,
 * for class banks.
 */
export function addToFit(
  fit: ResidualGaussianFit | MemoryBankFit,
  model: PyramidMamba,
  images: Float32Array,
  n: number,
  size: number,
  opts: Pick<InferOptions, 'batchSize' | 'onProgress'> & { classes?: readonly string[] } = {},
): void {
  if (opts.classes && opts.classes.length !== n) throw new RangeError(`${n} images but ${opts.classes.length} class names`);
  const memory = fit instanceof MemoryBankFit ? fit.settings : undefined;
  forEachBatch(model, images, n, size, { ...opts, memory }, (at, maps) =>
    // Without a memory bank the whole model runs, so both maps are there for the residual Gaussian.
    fit instanceof MemoryBankFit ? fit.add(maps, opts.classes?.slice(at, at + memorySource(maps, fit.settings).shape[0])) : fit.add(maps.teacher!, maps.student!),
  );
}

/**
 * The model's maps of each batch of NCHW images, disposed after `use`. Without a memory bank the
 * whole model runs; with one, only what the bank reads (memoryNeeds: the stem alone, the teacher,
 * or teacher and student), on the images bilinearly resized by its `inputScale`.
 */
function forEachBatch(
  model: PyramidMamba,
  images: Float32Array,
  n: number,
  size: number,
  opts: Pick<InferOptions, 'batchSize' | 'onProgress'> & { memory?: MemoryBankSettings },
  use: (at: number, maps: ModelMaps) => void,
): void {
  const per = 3 * size * size;
  if (images.length !== n * per) throw new RangeError(`expected ${n}×3×${size}×${size} = ${n * per} values, got ${images.length}`);
  const needs = opts.memory ? memoryNeeds(opts.memory) : { stem: false, stemPreActivation: false, teacher: true, student: true };
  const side = Math.round(size * (opts.memory?.inputScale ?? 1));
  const bs = Math.max(1, opts.batchSize ?? 8);
  for (let at = 0; at < n; at += bs) {
    const m = Math.min(bs, n - at);
    const x = tf.tidy(() => {
      const nhwc = tf.transpose(tf.tensor4d(images.subarray(at * per, (at + m) * per), [m, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D;
      return side === size ? nhwc : tf.image.resizeBilinear(nhwc, [side, side]);
    });
    const maps: ModelMaps = needs.student ? model.forward(x) : needs.teacher ? { teacher: model.teacher(x) } : {};
    if (needs.stem) maps.stem = model.teacherStem(x);
    if (needs.stemPreActivation) maps.stemPreActivation = model.teacherStem(x, { relu: false });
    x.dispose();
    try {
      use(at, maps);
    } finally {
      tf.dispose([maps.teacher ?? [], maps.student ?? [], maps.stem ?? [], maps.stemPreActivation ?? []]);
    }
    opts.onProgress?.(at + m, n);
  }
}

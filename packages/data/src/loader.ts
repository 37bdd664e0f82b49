/**
 * Loading samples into model-ready batches: images N×3×size×size (CHW floats, ImageNet-
 * normalised), masks N×size×size (0/1 bytes), labels N. Files decode in parallel on sharp's
 * thread pool; a bad file fails the batch or, under policy 'skip', is left out with a warning.
 */
import { availableParallelism } from 'node:os';
import { DataError, handleBadInput, stderrWarning } from './errors.ts';
import type { BadInputPolicy, WarningHandler } from './errors.ts';
import { loadImage } from './image.ts';
import type { PreprocessOptions } from './image.ts';
import { loadMask } from './mask.ts';
import type { Sample } from './dataset.ts';

/** Options of `loadBatch` and `batches`. */
export interface LoadOptions extends PreprocessOptions {
  /** Also load masks. Default: true. */
  masks?: boolean;
  /** Files decoded at once. Default: the number of CPUs. */
  concurrency?: number;
  /** A file that cannot be decoded: throw ('fail', default) or leave it out ('skip'). */
  policy?: BadInputPolicy;
  /** Receives each skipped file. Default: a line on stderr. */
  onWarning?: WarningHandler;
}

/** Loaded samples. Row i of every array belongs to `samples[i]`. */
export interface Batch {
  /** N×3×size×size, CHW per image. */
  images: Float32Array;
  /** N×size×size bytes of 0/1 (all zero for normal images); length 0 when masks were not asked for. */
  masks: Uint8Array;
  /** N labels, 0 normal / 1 anomalous. */
  labels: Uint8Array;
  /** The samples that loaded, in input order. */
  samples: Sample[];
  /** Samples left out under policy 'skip', with why. */
  skipped: { sample: Sample; error: DataError }[];
  size: number;
}

/** Runs `task(i)` for i in [0, n) with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, worker));
}

/** Loads samples into one batch. */
export async function loadBatch(samples: readonly Sample[], options: LoadOptions): Promise<Batch> {
  const { size } = options;
  const plane = size * size;
  const withMasks = options.masks ?? true;
  const n = samples.length;
  const images = new Float32Array(n * 3 * plane);
  const masks = new Uint8Array(withMasks ? n * plane : 0);
  const failed = new Map<number, DataError>();
  await pool(n, options.concurrency ?? availableParallelism(), async (i) => {
    const s = samples[i];
    try {
      await loadImage(s.image, options, images, i * 3 * plane);
      if (withMasks && s.mask) {
        masks.set(await loadMask(s.mask, { size, resize: options.resize, threshold: s.maskThreshold }), i * plane);
      }
    } catch (err) {
      if (!(err instanceof DataError) || (options.policy ?? 'fail') === 'fail') throw err;
      failed.set(i, err);
    }
  });
  const kept: Sample[] = [];
  const skipped: Batch['skipped'] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    const err = failed.get(i);
    if (err) {
      skipped.push({ sample: samples[i], error: err });
      handleBadInput(err, 'skip', options.onWarning ?? stderrWarning);
      continue;
    }
    if (k !== i) {
      images.copyWithin(k * 3 * plane, i * 3 * plane, (i + 1) * 3 * plane);
      if (withMasks) masks.copyWithin(k * plane, i * plane, (i + 1) * plane);
    }
    kept.push(samples[i]);
    k++;
  }
  return {
    images: k === n ? images : images.slice(0, k * 3 * plane),
    masks: k === n || !withMasks ? masks : masks.slice(0, k * plane),
    labels: Uint8Array.from(kept, (s) => s.label),
    samples: kept,
    skipped,
    size,
  };
}

/**
 * Yields consecutive batches of at most `batchSize` samples, decoding the next batch while
 * the caller works on the current one.
 */
export async function* batches(samples: readonly Sample[], batchSize: number, options: LoadOptions): AsyncGenerator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  let pending: Promise<Batch> | undefined;
  for (let start = 0; start < samples.length || pending; start += batchSize) {
    const next = start < samples.length ? loadBatch(samples.slice(start, start + batchSize), options) : undefined;
    // Keep a rejected prefetch from surfacing as an unhandled rejection before it is awaited.
    next?.catch(() => undefined);
    if (pending) yield await pending;
    pending = next;
  }
}

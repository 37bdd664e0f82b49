/**
 * A fit-map job: the fitted anomaly map of one model's weights (a residual Gaussian or a memory
 * bank), fitted in one forward pass over the normal training images the payload names, written
 * as the same weights with the map's tensors added (model/src/weights/fitted-map-tensors.ts).
 * The output is a pure function of the payload: a job whose output already names these weights
 * and settings returns it, and a retry writes the same bytes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadBatch, samplesById } from '@pmamba/data';
import { MemoryBankFit, ResidualGaussianFit, addToFit, loadCheckpoint, readSafetensors, withFittedMap, describeFittedMap, type FittedMap } from '@pmamba/model';
import type { FitMapPayload, FitMapResult, FittedMapSettings } from '@pmamba/protocol';
import { isStoreError, sha256 } from '@pmamba/store';
import { WorkerError } from './errors.ts';
import type { JobContext } from './job-context.ts';
import type { WorkerRuntime } from './runtime.ts';

/** Metadata naming what the map was fitted for: the input weights and the settings. */
const FITTED_FOR_KEY = 'pmamba.anomaly_map_fitted_for';
/** Metadata: the training images the map was fitted on. */
const IMAGES_KEY = 'pmamba.anomaly_map_images';

function fittedFor(payload: FitMapPayload): string {
  return JSON.stringify({ weights: payload.weights.sha256, items: sha256(new TextEncoder().encode(payload.items.join('\n'))), map: payload.map });
}

/** A fit of the kind the settings name; the memory bank's sample is seeded, so a retry draws the same. */
function startFit(map: FittedMapSettings): ResidualGaussianFit | MemoryBankFit {
  if (map.kind === 'memory') return new MemoryBankFit({ ...map, seed: 0 });
  return new ResidualGaussianFit(map);
}


async function existing(payload: FitMapPayload, rt: WorkerRuntime): Promise<FitMapResult | undefined> {
  const store = await rt.store();
  let bytes: Uint8Array;
  try {
    bytes = await store.getBytes(payload.outputKey);
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  // The metadata says what it was fitted for; no need to build the model to read it.
  const { metadata } = readSafetensors(bytes, payload.outputKey);
  if (metadata[FITTED_FOR_KEY] !== fittedFor(payload)) return undefined;
  return {
    runId: payload.runId,
    model: payload.model,
    weights: { key: payload.outputKey, sha256: sha256(bytes), size: bytes.byteLength },
    images: Number(metadata[IMAGES_KEY]),
    durationMs: 0,
    backend: await rt.backend(),
  };
}

export async function fitMap(payload: FitMapPayload, ctx: JobContext, rt: WorkerRuntime): Promise<FitMapResult> {
  const started = performance.now();
  const record = await rt.runRecord(payload.run, payload.runId);
  const done = await existing(payload, rt);
  if (done) {
    ctx.log(`the anomaly map of ${payload.model} is already fitted in ${payload.outputKey}; returning it`);
    return done;
  }
  const backend = await rt.backend();
  const { imageSize: size, dataset } = record.spec;
  const index = await rt.dataset(dataset);
  const samples = samplesById(index, payload.items);
  const source = await rt.weights(payload.weights);
  const { model } = loadCheckpoint(source, { source: payload.weights.key });
  const fit = startFit(payload.map);
  // A part of the images at a time: the job holds one part, not the whole sample.
  const part = record.config.evaluation.batchSize;
  let n = 0;
  try {
    await ctx.progress({ done: 0, total: samples.length, unit: 'images' });
    for (let at = 0; at < samples.length; at += part) {
      const batch = await loadBatch(samples.slice(at, at + part), { size, masks: false, policy: dataset.badImagePolicy, onWarning: (w) => ctx.log(`warning [${w.code}] ${w.message}`) });
      const k = batch.samples.length;
      // Each image's class, for class banks.
      if (k > 0) addToFit(fit, model, batch.images, k, size, { batchSize: part, classes: batch.samples.map((s) => s.className) });
      n += k;
      await ctx.progress({ done: Math.min(at + part, samples.length), total: samples.length, unit: 'images' });
    }
    if (n === 0) throw new WorkerError('E_STORE_MISSING', `none of the ${samples.length} training images of ${payload.model} could be read; the anomaly map cannot be fitted`);
    const fitted: FittedMap = fit instanceof MemoryBankFit ? { memoryBank: fit.finish() } : { residualGaussian: fit.finish() };
    // The metadata names the inputs: a retry or a resumed run finds the finished fit.
    const bytes = withFittedMap(source, fitted, { source: payload.weights.key, metadata: { [FITTED_FOR_KEY]: fittedFor(payload), [IMAGES_KEY]: String(n) } });
    const written = await (await rt.store()).putBytes(payload.outputKey, bytes);
    ctx.log(`anomaly map of ${payload.model}: ${describeFittedMap(fitted)}, fitted on ${n} training images`);
    return {
      runId: payload.runId,
      model: payload.model,
      weights: { key: written.key, sha256: written.sha256, size: written.size },
      images: n,
      durationMs: performance.now() - started,
      backend,
    };
  } finally {
    model.dispose();
    tf.disposeVariables();
  }
}

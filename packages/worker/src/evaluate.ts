/**
 * An evaluate job: anomaly maps for one class's test images with the given weights, the seven
 * metrics and mAD where they are defined (n/a with a note where not: no masks, all-empty masks,
 * or a test set without normal or anomalous images), a few heatmap overlays, and
 * the evaluation record (metrics.json, with curves for the HTML report). A job whose record
 * already exists for the same weights returns it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { basename, extname } from 'node:path';
import { heatmapOverlayPng, loadBatch, loadRgb, type Sample } from '@pmamba/data';
import { inferAnomalyMaps, loadCheckpoint } from '@pmamba/model';
import {
  layout,
  parseEvaluationRecord,
  type EvaluatePayload,
  type EvaluateResult,
  type EvaluationRecord,
} from '@pmamba/protocol';
import { isStoreError, type ArtifactStore } from '@pmamba/store';
import { classMetrics } from './class-metrics.ts';
import { WorkerError } from './errors.ts';
import type { WorkerRuntime } from './runtime.ts';
import type { JobContext } from './job-context.ts';

function resultOf(record: EvaluationRecord, artifact: { key: string; sha256: string; size: number }): EvaluateResult {
  return {
    runId: record.runId,
    className: record.className,
    metrics: record.metrics,
    images: record.images,
    metricsArtifact: { key: artifact.key, sha256: artifact.sha256, size: artifact.size },
    heatmaps: record.heatmaps.map((h) => h.artifact),
    durationMs: record.durationMs,
  };
}

async function existing(store: ArtifactStore, payload: EvaluatePayload): Promise<EvaluateResult | undefined> {
  try {
    const record = await store.getJson(payload.metricsKey, (v) => parseEvaluationRecord(v, payload.metricsKey));
    if (record.weights.sha256 !== payload.weights.sha256 || record.className !== payload.className) return undefined;
    return resultOf(record, await store.verify(payload.metricsKey));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** Image metrics only: for classes whose anomalies have no masks. */

/** Up to `count` anomalous images spread over the test set (then normal ones), by index. */
function heatmapPicks(labels: Uint8Array, count: number): number[] {
  const anomalous = [...labels.keys()].filter((i) => labels[i] === 1);
  const normal = [...labels.keys()].filter((i) => labels[i] === 0);
  const spread = (xs: number[], k: number) => (k >= xs.length ? xs : Array.from({ length: k }, (_, j) => xs[Math.floor((j * xs.length) / k)]));
  const a = spread(anomalous, count);
  return [...a, ...spread(normal, count - a.length)];
}

export async function evaluateClass(payload: EvaluatePayload, ctx: JobContext, rt: WorkerRuntime): Promise<EvaluateResult> {
  const started = performance.now();
  const store = await rt.store();
  const done = await existing(store, payload);
  if (done) return done;
  const backend = await rt.backend();
  const record = await rt.runRecord(payload.run, payload.runId);
  const { evaluation } = record.config;
  const { imageSize: size, dataset } = record.spec;
  const index = await rt.dataset(dataset);
  const cls = index.classes.find((c) => c.name === payload.className);
  if (!cls) throw new WorkerError('E_STORE_MISSING', `class '${payload.className}' is not in the dataset at ${index.root}`);
  const tests: Sample[] = cls.test;
  // Weights that carry a fitted anomaly map (a fit-map job's output) are scored with it.
  const { model, fittedMap } = loadCheckpoint(await rt.weights(payload.weights), { source: payload.weights.key });
  const plane = size * size;
  const maps = new Float32Array(tests.length * plane);
  const masks = new Uint8Array(tests.length * plane);
  const scores = new Float32Array(tests.length);
  const labels = new Uint8Array(tests.length);
  const kept: Sample[] = [];
  const skipped: string[] = [];
  let computeMs = 0;
  try {
    await ctx.progress({ done: 0, total: Math.max(1, tests.length), unit: 'images' });
    for (let at = 0; at < tests.length; at += evaluation.batchSize) {
      const batch = await loadBatch(tests.slice(at, at + evaluation.batchSize), {
        size,
        policy: dataset.badImagePolicy,
        onWarning: (w) => ctx.log(`warning [${w.code}] ${w.message}`),
      });
      skipped.push(...batch.skipped.map((s) => s.sample.id));
      const n = batch.samples.length;
      if (n > 0) {
        const t0 = performance.now();
        const out = inferAnomalyMaps(model, batch.images, n, size, {
          batchSize: evaluation.batchSize,
          sigma: evaluation.blurSigma,
          scale: evaluation.mapReduction === 'reference' ? 'official' : 'mean',
          ...(evaluation.imageScore === 'top1%' ? { topFraction: 0.01 } : {}),
          ...fittedMap,
        });
        computeMs += performance.now() - t0;
        const k = kept.length;
        maps.set(out.maps, k * plane);
        masks.set(batch.masks, k * plane);
        scores.set(out.scores, k);
        labels.set(batch.labels, k);
        kept.push(...batch.samples);
      }
      await ctx.progress({ done: Math.min(at + evaluation.batchSize, tests.length), total: Math.max(1, tests.length), unit: 'images' });
    }
  } finally {
    model.dispose();
    tf.disposeVariables();
  }
  const n = kept.length;
  const anomalous = labels.subarray(0, n).reduce((s, l) => s + l, 0);
  const { metrics, curves } = classMetrics(
    { scores: scores.subarray(0, n), labels: labels.subarray(0, n), maps: maps.subarray(0, n * plane), masks: masks.subarray(0, n * plane), size, anomalous },
    cls.pixelLabels,
    evaluation,
  );
  if (metrics.notes) ctx.log(`class '${payload.className}': ${metrics.notes.join('; ')}`);

  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n * plane; i++) {
    if (maps[i] < lo) lo = maps[i];
    if (maps[i] > hi) hi = maps[i];
  }
  const heatmaps: EvaluationRecord['heatmaps'] = [];
  for (const i of heatmapPicks(labels.subarray(0, n), payload.heatmaps)) {
    const s = kept[i];
    const name = layout.heatmapFileName(s.defect, basename(s.image, extname(s.image)));
    const png = await heatmapOverlayPng(await loadRgb(s.image, { size }), { data: maps.subarray(i * plane, (i + 1) * plane), width: size, height: size }, { range: [lo, hi] });
    const written = await store.putBytes(layout.heatmapKey(payload.heatmapsPrefix, name), png, { contentType: 'image/png' });
    heatmaps.push({ artifact: { key: written.key, sha256: written.sha256, size: written.size }, caption: `${s.id} (score ${scores[i].toFixed(4)})` });
  }

  const durationMs = performance.now() - started;
  const evaluated: EvaluationRecord = {
    kind: 'pmamba.evaluation',
    version: 1,
    runId: payload.runId,
    className: payload.className,
    model: payload.model,
    weights: payload.weights,
    metrics,
    images: { normal: n - anomalous, anomalous },
    skipped,
    heatmaps,
    ...(curves ? { curves } : {}),
    durationMs,
    timings: { computeMs, otherMs: durationMs - computeMs },
    backend,
    createdAt: new Date().toISOString(),
  };
  return resultOf(evaluated, await store.putJson(payload.metricsKey, evaluated));
}

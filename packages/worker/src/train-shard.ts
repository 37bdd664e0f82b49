/**
 * A train-shard job: from the round's weights, `steps` optimiser steps on batches drawn from the
 * job's shards, then the weights and a result record to the store. Every `checkpointEverySteps`
 * steps the model goes to the store with a small state record, so a retry (after a crash, a
 * SIGKILL or a hand-back at shutdown) continues from the last checkpoint instead of step 0. A job
 * whose result record already exists returns it: a retry never overwrites finished work.
 * A checkpoint holds the trainer's state too (AdamW moments, lr-schedule step, position in the
 * noise stream), so a resumed job computes the very weights an uninterrupted one would.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, hashSeed, loadBatch, samplesById, type Sample } from '@pmamba/data';
import { PyramidMamba, Trainer, gaussianStem, loadCheckpoint, loadTeacherWeights, loadTrainerState, presetConfig, saveCheckpoint, saveTrainerState, type ModelConfigInput, type TrainerState } from '@pmamba/model';
import {
  modelSection,
  teacherSource,
  parseCheckpointState,
  parseJobResult,
  type ArtifactRef,
  type CheckpointState,
  type JobProgress,
  type RunRecord,
  type TrainShardPayload,
  type TrainShardResult,
} from '@pmamba/protocol';
import { isStoreError, sha256, type ArtifactStore } from '@pmamba/store';
import { WorkerError } from './errors.ts';
import type { WorkerRuntime } from './runtime.ts';

/** What a processor gives the job logic: progress, and a signal asking it to stop early. */
export interface JobContext {
  progress(p: JobProgress): Promise<void>;
  /** Aborted when the worker shuts down: checkpoint and hand the job back. */
  signal?: AbortSignal;
  log(message: string): void;
}

/** A job that stopped early at shutdown; its checkpoint is in the store. */
export interface HandedBack {
  handedBack: true;
  step: number;
}

/** Images decoded once per job while they fit this budget (bytes). */
const IMAGE_CACHE_BYTES = 512 * 2 ** 20;

export function stepsOf(payload: Pick<TrainShardPayload, 'localSteps' | 'localEpochs' | 'shards' | 'batchSize'>): number {
  if (payload.localSteps !== undefined) return payload.localSteps;
  const items = payload.shards.reduce((n, s) => n + s.items.length, 0);
  return Math.max(1, Math.ceil((payload.localEpochs! * items) / payload.batchSize));
}

/**
 * The ids of each step's batch: passes over the job's images, each in a fresh order drawn from
 * the job's seed — the same sequence on every attempt, so a resumed job sees the batches it
 * had not seen yet.
 */
export function batchPlan(items: readonly string[], batchSize: number, steps: number, seed: number): string[][] {
  const out: string[][] = [];
  let order: string[] = [];
  let at = 0;
  let pass = 0;
  while (out.length < steps) {
    const batch: string[] = [];
    while (batch.length < Math.min(batchSize, items.length)) {
      if (at >= order.length) {
        order = createRng(hashSeed(seed, 'pass', pass++)).shuffle([...items]);
        at = 0;
      }
      batch.push(order[at++]);
    }
    out.push(batch);
  }
  return out;
}

interface Checkpoint {
  state: CheckpointState;
  bytes: Uint8Array;
  /** Absent when the checkpoint has no trainer state or it no longer verifies. */
  trainer?: TrainerState;
}

async function finishedResult(store: ArtifactStore, payload: TrainShardPayload): Promise<TrainShardResult | undefined> {
  const key = payload.resultKey;
  let result: TrainShardResult;
  try {
    result = await store.getJson(key, (v) => parseJobResult('train-shard', v, payload.jobId));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  const found = await store.head(result.weights.key);
  return found?.sha256 === result.weights.sha256 ? result : undefined;
}

/** The job's checkpoint, if one exists for this very job and starting point, with its weights. */
async function readCheckpoint(store: ArtifactStore, payload: TrainShardPayload, steps: number): Promise<Checkpoint | undefined> {
  const key = payload.checkpointStateKey;
  let state: CheckpointState;
  try {
    state = await store.getJson(key, (v) => parseCheckpointState(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  const sameJob = state.runId === payload.runId && state.round === payload.round && state.jobId === payload.jobId && state.steps === steps;
  if (!sameJob || (state.init?.sha256 ?? null) !== (payload.init?.sha256 ?? null) || state.step >= steps) return undefined;
  // Weights or trainer state written after the state record (a crash between the writes) belong
  // to a later step: such weights are not resumable, such a trainer state is not used.
  const verified = async (ref: ArtifactRef): Promise<Uint8Array | undefined> => {
    try {
      const bytes = await store.getBytes(ref.key);
      return sha256(bytes) === ref.sha256 ? bytes : undefined;
    } catch (err) {
      if (isStoreError(err)) return undefined;
      throw err;
    }
  };
  const bytes = await verified(state.weights);
  if (!bytes) return undefined;
  const trainerBytes = state.trainer && (await verified(state.trainer));
  return { state, bytes, trainer: trainerBytes ? loadTrainerState(trainerBytes, state.trainer!.key) : undefined };
}

const TEACHER_SHA_KEY = 'pmamba.teacher_sha256';

/** Checkpoint metadata naming the run's teacher (and the sha256 of its weights file, when it has one). */
export function teacherMeta(record: RunRecord, teacherSha256: string | undefined): Record<string, string> {
  const t = record.teacher;
  if (!t) return {};
  return {
    'pmamba.teacher': t.source,
    ...(teacherSha256 ? { [TEACHER_SHA_KEY]: teacherSha256 } : {}),
    ...(t.source === 'weights' ? { 'pmamba.teacher_from': t.from } : {}),
    ...(t.source === 'self-supervised' ? { 'pmamba.teacher_fingerprint': t.fingerprint } : {}),
    ...(t.source !== 'weights' ? { 'pmamba.teacher_stem': t.stem } : {}),
  };
}

function modelFromSeed(record: RunRecord): PyramidMamba {
  const { preset, overrides } = modelSection(record.config.model);
  const model = new PyramidMamba(presetConfig(preset, overrides as ModelConfigInput), record.config.training.seed);
  // A random teacher starts from the stem it was planned with (a self-made one is loaded over it).
  if (record.teacher?.source === 'random' && record.teacher.stem === 'gaussian') gaussianStem(model);
  return model;
}

/**
 * The training images a model's teacher BatchNorm is calibrated on: a seeded sample of the
 * model's items over the whole plan (not only this job's shards), so every round-0 job of the
 * model computes the same statistics and saves the same initial weights.
 */
export function calibrationItems(record: RunRecord, payload: TrainShardPayload): string[] {
  const perClass = record.plan.mode === 'per-class';
  const own = new Set(payload.shards.map((s) => s.className));
  const items = record.plan.shards.filter((s) => !perClass || own.has(s.className)).flatMap((s) => s.items);
  const { calibrationImages } = modelSection(record.config.model).teacher;
  const sample = createRng(hashSeed(record.config.training.seed, 'teacher-calibration')).shuffle([...items].sort());
  return sample.slice(0, calibrationImages);
}

const CALIBRATION_BATCH = 32;

/** Re-estimates the teacher's BatchNorm statistics on the calibration images. */
async function calibrateTeacher(model: PyramidMamba, samples: Sample[], size: number, policy: RunRecord['config']['dataset']['badImagePolicy']): Promise<number> {
  let seen = 0;
  for (let at = 0; at < samples.length; at += CALIBRATION_BATCH) {
    const batch = await loadBatch(samples.slice(at, at + CALIBRATION_BATCH), { size, masks: false, policy });
    const n = batch.samples.length;
    if (n === 0) continue;
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(batch.images, [n, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D);
    model.encoder.calibrate(x, seen++);
    x.dispose();
  }
  return seen;
}

function ref(o: { key: string; sha256: string; size: number }): ArtifactRef {
  return { key: o.key, sha256: o.sha256, size: o.size };
}

export async function trainShard(payload: TrainShardPayload, ctx: JobContext, rt: WorkerRuntime): Promise<TrainShardResult | HandedBack> {
  const started = performance.now();
  const store = await rt.store();
  const done = await finishedResult(store, payload);
  if (done) {
    ctx.log(`${payload.jobId} of round ${payload.round} is already in the store; returning it`);
    return done;
  }
  const backend = await rt.backend();
  const record = await rt.runRecord(payload.configKey);
  const t = record.config.training;
  const size = record.config.dataset.imageSize;
  const steps = stepsOf(payload);
  const index = await rt.dataset(record);
  const items = payload.shards.flatMap((s) => s.items);
  const samples = new Map(samplesById(index, items).map((s) => [s.id, s]));
  const plan = batchPlan(items, payload.batchSize, steps, payload.seed);

  const timings = { computeMs: 0, dataMs: 0, storeMs: 0, modelLoadMs: 0 };
  const timed = async <T>(bucket: keyof typeof timings, work: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[bucket] += performance.now() - t0;
    }
  };
  const checkpoint = await timed('storeMs', () => readCheckpoint(store, payload, steps));
  const initBytes = !checkpoint && payload.init ? await timed('storeMs', () => rt.weights(payload.init!)) : undefined;
  const loaded = await timed('modelLoadMs', () =>
    checkpoint
      ? loadCheckpoint(checkpoint.bytes, { source: checkpoint.state.weights.key })
      : initBytes
        ? loadCheckpoint(initBytes, { source: payload.init!.key })
        : undefined,
  );
  const model = loaded?.model ?? modelFromSeed(record);
  // Every weights file the run writes names its teacher's bytes.
  const teacherTag = teacherMeta(record, payload.teacher?.sha256 ?? loaded?.metadata[TEACHER_SHA_KEY]);
  if (!checkpoint && !payload.init && payload.teacher) {
    try {
      const bytes = await timed('storeMs', () => rt.weights(payload.teacher!));
      const report = await timed('modelLoadMs', () => loadTeacherWeights(model, bytes, payload.teacher!.key));
      ctx.log(`${payload.jobId}: teacher weights ${payload.teacher.key} loaded (${report.loaded} tensors; sha256 ${payload.teacher.sha256.slice(0, 12)}…)`);
    } catch (err) {
      model.dispose();
      tf.disposeVariables();
      throw err;
    }
  }
  const batchNorm = record.teacher?.batchNorm ?? teacherSource(modelSection(record.config.model).teacher).batchNorm;
  if (!checkpoint && !payload.init && batchNorm === 'calibrate') {
    const calibration = samplesById(index, calibrationItems(record, payload));
    try {
      const batches = await timed('computeMs', () => calibrateTeacher(model, calibration, size, record.config.dataset.badImagePolicy));
      ctx.log(`${payload.jobId}: teacher BatchNorm statistics calibrated on ${calibration.length} training images (${batches} batches)`);
    } catch (err) {
      model.dispose();
      tf.disposeVariables();
      throw err;
    }
  }
  if (!checkpoint && !payload.init && payload.initOutputKey && !(await store.exists(payload.initOutputKey))) {
    // Before the first step: these are the untrained weights (the same bytes from every round-0 job).
    await timed('storeMs', async () => store.putBytes(payload.initOutputKey!, saveCheckpoint(model, { 'pmamba.run': payload.runId, 'pmamba.round': 'init', ...teacherTag })));
  }
  let step = checkpoint?.state.step ?? 0;
  const resumedFrom = step;
  let seen = checkpoint?.state.samples ?? 0;
  let lossSum = checkpoint?.state.lossSum ?? 0;
  if (checkpoint) {
    const how = checkpoint.trainer ? 'with its optimiser state' : 'with fresh optimiser moments (its trainer state is missing)';
    ctx.log(`${payload.jobId} of round ${payload.round}: resuming from its checkpoint at step ${resumedFrom}/${steps} ${how}`);
  }

  const cache = new Map<string, Float32Array>();
  const plane = 3 * size * size;
  const cacheAll = items.length * plane * 4 <= IMAGE_CACHE_BYTES;
  const load = async (ids: readonly string[]): Promise<{ images: Float32Array; n: number }> => {
    const missing = [...new Set(ids.filter((id) => !cache.has(id)))].map((id) => samples.get(id) as Sample);
    const batch = missing.length
      ? await loadBatch(missing, { size, masks: false, policy: record.config.dataset.badImagePolicy, onWarning: (w) => ctx.log(`warning [${w.code}] ${w.message}`) })
      : undefined;
    const fresh = new Map<string, Float32Array>();
    batch?.samples.forEach((s, i) => fresh.set(s.id, batch.images.subarray(i * plane, (i + 1) * plane)));
    if (cacheAll) for (const [id, img] of fresh) cache.set(id, img);
    const rows = ids.map((id) => cache.get(id) ?? fresh.get(id)).filter((x): x is Float32Array => x !== undefined);
    const images = new Float32Array(rows.length * plane);
    rows.forEach((r, i) => images.set(r, i * plane));
    return { images, n: rows.length };
  };

  const writeCheckpoint = () => timed('storeMs', async () => {
    const meta = { 'pmamba.run': payload.runId, 'pmamba.job': payload.jobId, 'pmamba.step': String(step), ...teacherTag };
    const trainerState = ref(await store.putBytes(payload.checkpointTrainerKey, saveTrainerState(trainer.state(), meta)));
    const weights = ref(await store.putBytes(payload.checkpointKey, saveCheckpoint(model, meta)));
    const state: CheckpointState = {
      kind: 'pmamba.checkpoint',
      version: 1,
      runId: payload.runId,
      round: payload.round,
      jobId: payload.jobId,
      step,
      steps,
      samples: seen,
      lossSum,
      weights,
      trainer: trainerState,
      init: payload.init,
      createdAt: new Date().toISOString(),
    };
    await store.putJson(payload.checkpointStateKey, state);
  });

  const trainer = new Trainer(model, {
    lr: payload.lr,
    weightDecay: t.weightDecay,
    betas: t.betas,
    clipNorm: t.gradClip ?? 0,
    seed: hashSeed(payload.seed, 'noise'),
    ...(t.microBatch ? { microBatch: t.microBatch } : {}),
  });
  try {
    if (checkpoint?.trainer) trainer.restore(checkpoint.trainer);
    else if (!checkpoint && payload.initTrainer) {
      // The previous round's averaged moments; the noise stream is this round's own.
      const { randomCalls: _, ...state } = loadTrainerState(await timed('storeMs', () => rt.weights(payload.initTrainer!)), payload.initTrainer.key);
      trainer.restore(state);
    }
    await ctx.progress({ done: step, total: steps, unit: 'steps', ...(step > 0 ? { loss: lossSum / step, resumedFrom } : {}) });
    while (step < steps) {
      if (ctx.signal?.aborted) {
        if (step > resumedFrom && step % payload.checkpointEverySteps !== 0) await writeCheckpoint();
        return { handedBack: true, step };
      }
      const { images, n } = await timed('dataMs', () => load(plan[step]));
      if (n === 0) throw new WorkerError('E_NO_IMAGES', `${payload.jobId}: no image of step ${step + 1} could be read (${plan[step].join(', ')})`);
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(images, [n, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D);
      let loss: number;
      try {
        loss = await timed('computeMs', () => trainer.step(x).loss);
      } finally {
        x.dispose();
      }
      if (!Number.isFinite(loss)) {
        throw new WorkerError('E_TRAINING_DIVERGED', `${payload.jobId} of round ${payload.round}: the loss became ${loss} at step ${step + 1}; lower training.lr or set training.gradClip`);
      }
      step++;
      seen += n;
      lossSum += loss;
      if (step % payload.checkpointEverySteps === 0 && step < steps) await writeCheckpoint();
      await ctx.progress({ done: step, total: steps, unit: 'steps', loss: lossSum / step, ...(resumedFrom > 0 ? { resumedFrom } : {}) });
    }
    const meta = { 'pmamba.run': payload.runId, 'pmamba.round': String(payload.round), 'pmamba.job': payload.jobId, ...teacherTag };
    const weights = await timed('storeMs', async () => ref(await store.putBytes(payload.outputKey, saveCheckpoint(model, meta))));
    const trainerState = payload.trainerOutputKey
      ? await timed('storeMs', async () => ref(await store.putBytes(payload.trainerOutputKey!, saveTrainerState(trainer.state(), meta))))
      : undefined;
    const result: TrainShardResult = {
      runId: payload.runId,
      round: payload.round,
      jobId: payload.jobId,
      weights,
      ...(trainerState ? { trainer: trainerState } : {}),
      samples: seen,
      steps,
      loss: lossSum / steps,
      resumedFromStep: resumedFrom,
      durationMs: performance.now() - started,
      backend,
      timings,
    };
    await store.putJson(payload.resultKey, result);
    // The result is the job's commit; its checkpoint can never be needed again.
    await Promise.all([payload.checkpointKey, payload.checkpointStateKey, payload.checkpointTrainerKey].map((k) => store.delete(k)));
    return result;
  } finally {
    // The model's variables and the optimiser's moments: a processor process runs one job at a time.
    trainer.dispose();
    model.dispose();
    tf.disposeVariables();
  }
}

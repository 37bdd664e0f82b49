/**
 * A train-shard job: from the round's weights, `steps` optimiser steps on batches drawn from the
 * job's shards, then the weights and a result record to the store. Every `checkpointEverySteps`
 * steps the model goes to the store with a small state record, so a retry (after a crash, a
 * SIGKILL or a hand-back at shutdown) continues from the last checkpoint instead of step 0. A job
 * whose result record already exists returns it: a retry never overwrites finished work.
 * A checkpoint holds the trainer's state too (AdamW moments, lr-schedule step, position in the
 * noise stream), so a resumed job computes the very weights an uninterrupted one would.
 * Every training setting comes from the payload's train spec; the parts live in ./train/.
 */
import * as tf from '@tensorflow/tfjs-core';
import { hashSeed, samplesById } from '@pmamba/data';
import { IMAGE_SIZE_KEY, Trainer, loadTrainerState, saveCheckpoint, saveTrainerState } from '@pmamba/model';
import type { TrainShardPayload, TrainShardResult } from '@pmamba/protocol';
import { WorkerError } from './errors.ts';
import type { HandedBack, JobContext } from './job-context.ts';
import type { WorkerRuntime } from './runtime.ts';
import { batchPlan, stepsOf } from './train/batch-plan.ts';
import { deleteCheckpoint, finishedResult, readCheckpoint, ref, writeCheckpoint, type Progress } from './train/checkpoints.ts';
import { ImageCache } from './train/image-cache.ts';
import { initialModel, teacherMeta } from './train/initial-model.ts';
import { Timings } from './train/timings.ts';

export async function trainShard(payload: TrainShardPayload, ctx: JobContext, rt: WorkerRuntime): Promise<TrainShardResult | HandedBack> {
  const started = performance.now();
  await rt.checkRunStore(payload.run, payload.runId);
  const store = await rt.store();
  const done = await finishedResult(store, payload);
  if (done) {
    ctx.log(`${payload.jobId} of round ${payload.round} is already in the store; returning it`);
    await deleteCheckpoint(store, payload); // a crash may have come between the result and the cleanup
    return done;
  }
  const { spec } = payload;
  const backend = await rt.backend();
  const size = spec.imageSize;
  const steps = stepsOf(payload, spec.batchSize);
  const index = await rt.dataset(spec.dataset);
  const items = payload.shards.flatMap((s) => s.items);
  const images = new ImageCache(new Map(samplesById(index, items).map((s) => [s.id, s])), spec, ctx.log);
  const plan = batchPlan(items, spec.batchSize, steps, payload.seed);

  const timings = new Timings();
  const checkpoint = await timings.time('storeMs', () => readCheckpoint(store, payload, steps));
  const { model, teacherSha256 } = await initialModel(payload, checkpoint, ctx, rt, index, timings);
  // Every weights file the run writes names its teacher's bytes and the image size it was trained at.
  const teacherTag = { ...teacherMeta(spec.teacher, teacherSha256), [IMAGE_SIZE_KEY]: String(size) };
  if (!checkpoint && !payload.init && payload.initOutputKey && !(await store.exists(payload.initOutputKey))) {
    // Before the first step: these are the untrained weights (the same bytes from every round-0 job).
    await timings.time('storeMs', async () => store.putBytes(payload.initOutputKey!, saveCheckpoint(model, { 'pmamba.run': payload.runId, 'pmamba.round': 'init', ...teacherTag })));
  }
  const at: Progress = { step: checkpoint?.state.step ?? 0, steps, samples: checkpoint?.state.samples ?? 0, lossSum: checkpoint?.state.lossSum ?? 0 };
  const resumedFrom = at.step;
  if (checkpoint) {
    const how = checkpoint.trainer ? 'with its optimiser state' : 'with fresh optimiser moments (its trainer state is missing)';
    ctx.log(`${payload.jobId} of round ${payload.round}: resuming from its checkpoint at step ${resumedFrom}/${steps} ${how}`);
  }

  const { weightDecay, betas, clipNorm, microBatch } = spec.optimizer;
  const trainer = new Trainer(model, { lr: payload.lr, weightDecay, betas, clipNorm, seed: hashSeed(payload.seed, 'noise'), ...(microBatch ? { microBatch } : {}) });
  let published = checkpoint?.state;
  const checkpointNow = async () => {
    const meta = { 'pmamba.run': payload.runId, 'pmamba.job': payload.jobId, 'pmamba.step': String(at.step), ...teacherTag };
    published = await timings.time('storeMs', () => writeCheckpoint(store, payload, model, trainer, at, meta, published));
  };
  try {
    if (checkpoint?.trainer) trainer.restore(checkpoint.trainer);
    else if (!checkpoint && payload.initTrainer) {
      // The previous round's averaged moments; the noise stream is this round's own.
      const { randomCalls: _, ...state } = loadTrainerState(await timings.time('storeMs', () => rt.weights(payload.initTrainer!)), payload.initTrainer.key);
      trainer.restore(state);
    }
    await ctx.progress({ done: at.step, total: steps, unit: 'steps', ...(at.step > 0 ? { loss: at.lossSum / at.step, resumedFrom } : {}) });
    while (at.step < steps) {
      if (ctx.signal?.aborted) {
        if (at.step > resumedFrom && at.step % payload.checkpointEverySteps !== 0) await checkpointNow();
        return { handedBack: true, step: at.step };
      }
      const { images: batch, n } = await timings.time('dataMs', () => images.load(plan[at.step]));
      if (n === 0) throw new WorkerError('E_NO_IMAGES', `${payload.jobId}: no image of step ${at.step + 1} could be read (${plan[at.step].join(', ')})`);
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(batch, [n, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D);
      let loss: number;
      try {
        loss = await timings.time('computeMs', () => trainer.step(x).loss);
      } finally {
        x.dispose();
      }
      if (!Number.isFinite(loss)) {
        throw new WorkerError('E_TRAINING_DIVERGED', `${payload.jobId} of round ${payload.round}: the loss became ${loss} at step ${at.step + 1}; lower training.lr or set training.gradClip`);
      }
      at.step++;
      at.samples += n;
      at.lossSum += loss;
      if (at.step % payload.checkpointEverySteps === 0 && at.step < steps) await checkpointNow();
      await ctx.progress({ done: at.step, total: steps, unit: 'steps', loss: at.lossSum / at.step, ...(resumedFrom > 0 ? { resumedFrom } : {}) });
    }
    const meta = { 'pmamba.run': payload.runId, 'pmamba.round': String(payload.round), 'pmamba.job': payload.jobId, ...teacherTag };
    const weights = await timings.time('storeMs', async () => ref(await store.putBytes(payload.outputKey, saveCheckpoint(model, meta))));
    const trainerState = payload.trainerOutputKey
      ? await timings.time('storeMs', async () => ref(await store.putBytes(payload.trainerOutputKey!, saveTrainerState(trainer.state(), meta))))
      : undefined;
    const result: TrainShardResult = {
      runId: payload.runId,
      round: payload.round,
      jobId: payload.jobId,
      weights,
      ...(trainerState ? { trainer: trainerState } : {}),
      samples: at.samples,
      steps,
      loss: at.lossSum / steps,
      resumedFromStep: resumedFrom,
      durationMs: performance.now() - started,
      backend,
      timings: timings.ms,
    };
    await store.putJson(payload.resultKey, result);
    await deleteCheckpoint(store, payload);
    return result;
  } finally {
    // The model's variables and the optimiser's moments: a processor process runs one job at a time.
    trainer.dispose();
    model.dispose();
    tf.disposeVariables();
  }
}

/**
 * A teacher-pretrain job: the run's encoder, from the seed, learns to segment synthetic defects
 * painted into the normal training images (@pmamba/model's TeacherPretrainer), then its
 * BatchNorm statistics are recalibrated on clean images and the encoder goes to the store under
 * torchvision names, with its record written last. The key is a fingerprint of the images and
 * settings, so any later run (a rerun, a sweep variant, a scheduled retrain) with the same
 * fingerprint finds the teacher made and skips the job. Checkpoints every
 * `checkpointEverySteps` steps make a retried job resume; defects are drawn from (seed, step),
 * so a resumed job ends with the same teacher as an uninterrupted one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, hashSeed, loadBatch, samplesById } from '@pmamba/data';
import { PyramidMamba, TeacherPretrainer, calibrateEncoder, exportTeacherWeights, gaussianStem } from '@pmamba/model';
import {
  layout,
  parseJobResult,
  parseTeacherCheckpointState,
  type ArtifactRef,
  type TeacherCheckpointState,
  type TeacherPretrainPayload,
  type TeacherPretrainResult,
} from '@pmamba/protocol';
import { isStoreError, sha256, type ArtifactStore } from '@pmamba/store';
import { removeCheckpoint, removeReplaced } from './checkpoint-files.ts';
import { WorkerError } from './errors.ts';
import type { WorkerRuntime } from './runtime.ts';
import type { HandedBack, JobContext } from './job-context.ts';


function ref(o: { key: string; sha256: string; size: number }): ArtifactRef {
  return { key: o.key, sha256: o.sha256, size: o.size };
}

/** The finished teacher's record, when it and the weights it names are in the store. */
export async function finishedTeacher(store: ArtifactStore, recordKey: string): Promise<TeacherPretrainResult | undefined> {
  let result: TeacherPretrainResult;
  try {
    result = await store.getJson(recordKey, (v) => parseJobResult('teacher-pretrain', v, recordKey));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  const found = await store.head(result.teacher.key);
  return found?.sha256 === result.teacher.sha256 ? result : undefined;
}

async function readCheckpoint(store: ArtifactStore, payload: TeacherPretrainPayload): Promise<{ state: TeacherCheckpointState; weights: Uint8Array; trainer: Uint8Array } | undefined> {
  let state: TeacherCheckpointState;
  try {
    state = await store.getJson(payload.checkpointStateKey, (v) => parseTeacherCheckpointState(v, payload.checkpointStateKey));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
  if (state.fingerprint !== payload.fingerprint || state.steps !== payload.steps || state.step >= payload.steps) return undefined;
  try {
    const [weights, trainer] = await Promise.all([store.getBytes(state.weights.key), store.getBytes(state.trainer.key)]);
    // Published files are never rewritten: a hash that no longer matches means the store damaged them.
    if (sha256(weights) !== state.weights.sha256 || sha256(trainer) !== state.trainer.sha256) return undefined;
    return { state, weights, trainer };
  } catch (err) {
    if (isStoreError(err)) return undefined;
    throw err;
  }
}

export async function teacherPretrain(payload: TeacherPretrainPayload, ctx: JobContext, rt: WorkerRuntime): Promise<TeacherPretrainResult | HandedBack> {
  const started = performance.now();
  await rt.checkRunStore(payload.run, payload.runId);
  const store = await rt.store();
  const done = await finishedTeacher(store, payload.recordKey);
  if (done) {
    ctx.log(`teacher ${payload.fingerprint.slice(0, 12)} is already in the store; returning it`);
    await removeCheckpoint(store, payload.checkpointStateKey); // a crash may have come between the record and the cleanup
    return done;
  }
  const backend = await rt.backend();
  const { spec } = payload;
  const size = spec.imageSize;
  const policy = spec.dataset.badImagePolicy;
  const index = await rt.dataset(spec.dataset);
  const samples = samplesById(index, payload.items);
  // The whole training set is decoded once: pretraining draws batches and defect sources from it.
  const all = await loadBatch(samples, { size, masks: false, policy, onWarning: (w) => ctx.log(`warning [${w.code}] ${w.message}`) });
  const n = all.samples.length;
  if (n === 0) throw new WorkerError('E_NO_IMAGES', `teacher ${payload.fingerprint.slice(0, 12)}: none of the ${payload.items.length} training images could be read`);
  const plane = 3 * size * size;

  if (spec.teacher.source !== 'self-supervised') throw new Error('unreachable: the payload schema admits only a self-supervised teacher');
  const { stem } = spec.teacher;
  const model = new PyramidMamba(spec.model, spec.seed);
  if (stem === 'gaussian') gaussianStem(model);
  const pretrainer = new TeacherPretrainer(model, { lr: payload.lr, seed: payload.seed, frozenStages: payload.frozenStages });
  try {
    const checkpoint = await readCheckpoint(store, payload);
    let losses: number[] = [];
    if (checkpoint) {
      pretrainer.restore(checkpoint.weights, checkpoint.trainer, payload.checkpointKey);
      losses = checkpoint.state.losses;
      ctx.log(`teacher ${payload.fingerprint.slice(0, 12)}: resuming from its checkpoint at step ${pretrainer.stepCount}/${payload.steps}`);
    }
    const resumedFrom = pretrainer.stepCount;
    let published = checkpoint?.state;
    // New keys per step, published by the state record; the replaced step's files go after it.
    const writeCheckpoint = async () => {
      const step = pretrainer.stepCount;
      const meta = { 'pmamba.teacher': payload.fingerprint, 'pmamba.step': String(step) };
      const saved = pretrainer.saveState(meta);
      const trainer = ref(await store.putBytes(layout.checkpointVersionKey(payload.checkpointTrainerKey, step), saved.trainer));
      const weights = ref(await store.putBytes(layout.checkpointVersionKey(payload.checkpointKey, step), saved.weights));
      const state: TeacherCheckpointState = {
        kind: 'pmamba.teacher-checkpoint',
        version: 1,
        fingerprint: payload.fingerprint,
        step: pretrainer.stepCount,
        steps: payload.steps,
        weights,
        trainer,
        losses,
        createdAt: new Date().toISOString(),
      };
      await store.putJson(payload.checkpointStateKey, state);
      await removeReplaced(store, [published?.weights.key, published?.trainer.key], [weights.key, trainer.key]);
      published = state;
    };

    const meanLoss = () => {
      const tail = losses.slice(-Math.max(1, Math.ceil(losses.length / 10)));
      return tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
    };
    const progress = () => ctx.progress({ done: pretrainer.stepCount, total: payload.steps, unit: 'steps', ...(losses.length ? { loss: meanLoss() } : {}), ...(resumedFrom > 0 ? { resumedFrom } : {}) });
    await progress();
    const batch = new Float32Array(Math.min(payload.batchSize, n) * plane);
    while (pretrainer.stepCount < payload.steps) {
      if (ctx.signal?.aborted) {
        if (pretrainer.stepCount > resumedFrom) await writeCheckpoint();
        return { handedBack: true, step: pretrainer.stepCount };
      }
      // Each step's batch is a function of (seed, step): the same after a resume.
      const rng = createRng(hashSeed(payload.seed, 'teacher-batch', pretrainer.stepCount));
      const picks = rng.shuffle([...Array(n).keys()]).slice(0, batch.length / plane);
      picks.forEach((j, i) => batch.set(all.images.subarray(j * plane, (j + 1) * plane), i * plane));
      const { loss } = pretrainer.step(batch, picks.length, size, all.images, n);
      if (!Number.isFinite(loss)) {
        throw new WorkerError('E_TRAINING_DIVERGED', `teacher pretraining: the loss became ${loss} at step ${pretrainer.stepCount}; lower model.teacher.pretrain.lr`);
      }
      losses.push(loss);
      const step = pretrainer.stepCount;
      if (step % payload.checkpointEverySteps === 0 && step < payload.steps) await writeCheckpoint();
      await progress();
    }

    // The student only ever sees the teacher on clean images: calibrate BatchNorm there.
    calibrateEncoder(model, all.images, n, size);
    const teacher = ref(
      await store.putBytes(
        payload.outputKey,
        exportTeacherWeights(model, { 'pmamba.teacher': 'self-supervised', 'pmamba.fingerprint': payload.fingerprint, 'pmamba.steps': String(payload.steps), 'pmamba.stem': stem }),
      ),
    );
    const result: TeacherPretrainResult = {
      kind: 'pmamba.teacher',
      version: 1,
      fingerprint: payload.fingerprint,
      runId: payload.runId,
      encoder: model.config.encoder,
      imageSize: size,
      teacher,
      images: n,
      steps: payload.steps,
      finalLoss: meanLoss(),
      resumedFromStep: resumedFrom,
      durationMs: performance.now() - started,
      backend,
      createdAt: new Date().toISOString(),
    };
    await store.putJson(payload.recordKey, result);
    await removeCheckpoint(store, payload.checkpointStateKey);
    return result;
  } finally {
    pretrainer.dispose();
    model.dispose();
    tf.disposeVariables();
  }
}


/**
 * The model a train-shard job starts from: its checkpoint when resuming, else the round's
 * weights, else (round 0) a model from the spec's seed whose teacher takes the run's teacher
 * weights or its made-here stem, with BatchNorm calibrated when the spec asks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadBatch, samplesById, type DatasetIndex, type Sample } from '@pmamba/data';
import { PyramidMamba, gaussianStem, loadCheckpoint, loadTeacherWeights } from '@pmamba/model';
import type { TeacherRef, TrainShardPayload, TrainSpec } from '@pmamba/protocol';
import type { WorkerRuntime } from '../runtime.ts';
import type { JobContext } from '../job-context.ts';
import type { Checkpoint } from './checkpoints.ts';
import type { Timings } from './timings.ts';

export const TEACHER_SHA_KEY = 'pmamba.teacher_sha256';

/** Checkpoint metadata naming the run's teacher (and the sha256 of its weights file, when it has one). */
export function teacherMeta(teacher: TeacherRef, teacherSha256: string | undefined): Record<string, string> {
  return {
    'pmamba.teacher': teacher.source,
    ...(teacherSha256 ? { [TEACHER_SHA_KEY]: teacherSha256 } : {}),
    ...(teacher.source === 'weights' ? { 'pmamba.teacher_from': teacher.from } : {}),
    ...(teacher.source === 'self-supervised' ? { 'pmamba.teacher_fingerprint': teacher.fingerprint } : {}),
    ...(teacher.source !== 'weights' ? { 'pmamba.teacher_stem': teacher.stem } : {}),
  };
}

const CALIBRATION_BATCH = 32;

/** Re-estimates the teacher's BatchNorm statistics on the calibration images; returns the batches used. */
async function calibrateTeacher(model: PyramidMamba, samples: Sample[], spec: TrainSpec): Promise<number> {
  const size = spec.imageSize;
  let seen = 0;
  for (let at = 0; at < samples.length; at += CALIBRATION_BATCH) {
    const batch = await loadBatch(samples.slice(at, at + CALIBRATION_BATCH), { size, masks: false, policy: spec.dataset.badImagePolicy });
    const n = batch.samples.length;
    if (n === 0) continue;
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(batch.images, [n, 3, size, size]), [0, 2, 3, 1]) as tf.Tensor4D);
    model.encoder.calibrate(x, seen++);
    x.dispose();
  }
  return seen;
}

export interface InitialModel {
  model: PyramidMamba;
  /** The teacher file's sha256, from the payload or the weights' metadata. */
  teacherSha256?: string;
}

/** Round 0's model: from the seed, the teacher prepared as the spec and payload say. */
async function fromSeed(payload: TrainShardPayload, ctx: JobContext, rt: WorkerRuntime, index: DatasetIndex, timings: Timings): Promise<PyramidMamba> {
  const { spec } = payload;
  const model = new PyramidMamba(spec.model, spec.seed);
  try {
    if (payload.teacher) {
      const teacher = payload.teacher;
      const bytes = await timings.time('storeMs', () => rt.weights(teacher));
      const report = await timings.time('modelLoadMs', () => loadTeacherWeights(model, bytes, teacher.key));
      ctx.log(`${payload.jobId}: teacher weights ${payload.teacher.key} loaded (${report.loaded} tensors; sha256 ${payload.teacher.sha256.slice(0, 12)}…)`);
    } else if (spec.teacher.source === 'random' && spec.teacher.stem === 'gaussian') {
      gaussianStem(model);
    }
    if (payload.calibration) {
      const calibration = samplesById(index, payload.calibration);
      const batches = await timings.time('computeMs', () => calibrateTeacher(model, calibration, spec));
      ctx.log(`${payload.jobId}: teacher BatchNorm statistics calibrated on ${calibration.length} training images (${batches} batches)`);
    }
    return model;
  } catch (err) {
    model.dispose();
    tf.disposeVariables();
    throw err;
  }
}

/** The job's starting model. */
export async function initialModel(
  payload: TrainShardPayload,
  checkpoint: Checkpoint | undefined,
  ctx: JobContext,
  rt: WorkerRuntime,
  index: DatasetIndex,
  timings: Timings,
): Promise<InitialModel> {
  const init = payload.init;
  if (checkpoint || init) {
    const bytes = checkpoint ? checkpoint.bytes : await timings.time('storeMs', () => rt.weights(init!));
    const source = checkpoint ? checkpoint.state.weights.key : init!.key;
    const loaded = await timings.time('modelLoadMs', () => loadCheckpoint(bytes, { source }));
    return { model: loaded.model, teacherSha256: payload.teacher?.sha256 ?? loaded.metadata[TEACHER_SHA_KEY] };
  }
  return { model: await fromSeed(payload, ctx, rt, index, timings), teacherSha256: payload.teacher?.sha256 };
}

/**
 * The run's teacher, resolved at planning:
 * - `model.teacher.weights` (a local file by now: the CLI downloads URLs first) is checked
 *   against the model's encoder, copied into the store by content and cited by hash, so every
 *   worker loads the very same bytes;
 * - `init: self-supervised` is named by a fingerprint of the training images' contents and the
 *   settings that shape the teacher, so a rerun, a sweep variant or a retrain on the same images
 *   finds it already made; the coordinator runs the teacher-pretrain job only when it is not;
 * - `init: random` keeps the seed's random encoder, its stem set to Gaussian-derivative filters
 *   unless `stem: random` (round 0 calibrates its BatchNorm).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { DatasetIndex } from '@pmamba/data';
import { isPth, readTeacherWeights, teacherArchOf, type ModelConfig } from '@pmamba/model/spec';
import { TeacherPretrainPayloadSchema, layout, modelSection, teacherSource, type ArtifactRef, type RunConfig, type RunRecord, type TeacherPretrainPayload, type TeacherRef } from '@pmamba/protocol';
import { sha256, type ArtifactStore } from '@pmamba/store';
import { CoordinatorError } from './errors.ts';

/** Bumped whenever the pretext task changes, so no run reuses a teacher made another way. */
export const PRETEXT_METHOD = 'pretext-defects-v1';

export interface TeacherPlanOptions {
  cwd: string;
  /** Where teacher files go; required when the config names `model.teacher.weights`. */
  store?: ArtifactStore;
  /** A local copy of `model.teacher.weights` when that is a URL (the CLI downloaded it). */
  weightsFile?: string;
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Checks and stores a pretrained teacher file; returns its reference. */
async function teacherFile(config: RunConfig, model: ModelConfig, options: TeacherPlanOptions): Promise<TeacherRef> {
  const { teacher } = modelSection(config.model);
  const from = teacher.weights!;
  const path = options.weightsFile ?? (isUrl(from) ? undefined : resolve(options.cwd, from));
  if (!path) throw new CoordinatorError('E_CONFIG', `model.teacher.weights ${from} is a URL: download it first (pmamba train does) and plan with the file`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new CoordinatorError('E_CONFIG', `model.teacher.weights: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  let arch: string | undefined;
  try {
    arch = teacherArchOf(readTeacherWeights(bytes, path));
  } catch (err) {
    throw new CoordinatorError('E_CONFIG', `model.teacher.weights ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (arch !== model.encoder) {
    throw new CoordinatorError(
      'E_CONFIG',
      `model.teacher.weights ${path} ${arch ? `holds ${arch} weights` : 'holds no torchvision/timm ResNet'} but the model's encoder is ${model.encoder}` +
        (arch ? `: set model.encoder: ${arch}, or use ${model.encoder} weights` : ''),
    );
  }
  if (!options.store) throw new CoordinatorError('E_CONFIG', 'planning a run with model.teacher.weights needs the artifact store (the file is copied there)');
  const digest = sha256(bytes);
  if (teacher.sha256 && digest !== teacher.sha256) {
    throw new CoordinatorError('E_CONFIG', `model.teacher.weights ${path} has sha256 ${digest}, but model.teacher.sha256 pins ${teacher.sha256}`);
  }
  const key = layout.teacherFileKey(digest, isPth(bytes) ? 'pth' : 'safetensors');
  const found = await options.store.head(key);
  const stored = found?.sha256 === digest ? { key, sha256: digest, size: bytes.length } : await options.store.putBytes(key, bytes);
  return { source: 'weights', from, file: { key, sha256: stored.sha256, size: stored.size }, batchNorm: teacherSource(teacher).batchNorm };
}

/** The images a self-made teacher learns from: a seeded sample of every model's training items. */
export function pretrainItems(record: Pick<RunRecord, 'plan' | 'config'>): string[] {
  const all = [...new Set(record.plan.shards.flatMap((s) => s.items))].sort();
  const { images } = modelSection(record.config.model).teacher.pretrain;
  if (all.length <= images) return all;
  // A deterministic spread over the sorted list (every class keeps its share).
  return Array.from({ length: images }, (_, i) => all[Math.floor((i * all.length) / images)]);
}

/** sha256 over what shapes a self-made teacher: method, encoder, seed, size, stem, settings and each image's bytes. */
async function pretextFingerprint(config: RunConfig, model: ModelConfig, index: DatasetIndex, items: string[]): Promise<string> {
  const byId = new Map(index.classes.flatMap((c) => c.train).map((s) => [s.id, s.image]));
  const images: [string, string][] = [];
  for (const id of items) images.push([id, sha256(await readFile(byId.get(id)!))]);
  const { teacher } = modelSection(config.model);
  const { pretrain } = teacher;
  const made = teacherSource(teacher);
  const stem = made.source === 'weights' ? undefined : made.stem;
  return sha256(
    Buffer.from(
      JSON.stringify({ method: PRETEXT_METHOD, encoder: model.encoder, seed: config.training.seed, imageSize: config.dataset.imageSize, stem, pretrain, images }),
    ),
  );
}

/** Resolves the config's teacher for a planned run (its `plan` must be set). */
export async function planTeacher(config: RunConfig, model: ModelConfig, index: DatasetIndex, record: Pick<RunRecord, 'plan' | 'config'>, options: TeacherPlanOptions): Promise<TeacherRef> {
  const { teacher } = modelSection(config.model);
  const made = teacherSource(teacher);
  if (made.source === 'weights') return teacherFile(config, model, options);
  const { batchNorm, stem } = made;
  if (made.source === 'random') return { source: 'random', batchNorm, stem };
  return { source: 'self-supervised', batchNorm, stem, fingerprint: await pretextFingerprint(config, model, index, pretrainItems(record)) };
}

/** The teacher-pretrain job of a run whose teacher is self-made. */
export function teacherPretrainPayload(record: RunRecord, run: ArtifactRef, ref: Extract<TeacherRef, { source: 'self-supervised' }>): TeacherPretrainPayload {
  const { fingerprint } = ref;
  const p = modelSection(record.config.model).teacher.pretrain;
  return TeacherPretrainPayloadSchema.parse({
    fingerprint,
    runId: record.runId,
    run,
    spec: record.spec,
    items: pretrainItems(record),
    steps: p.steps,
    batchSize: p.batchSize,
    lr: p.lr,
    frozenStages: p.frozenStages,
    seed: record.spec.seed,
    checkpointEverySteps: p.checkpointEverySteps,
    outputKey: layout.pretextTeacherKey(fingerprint),
    recordKey: layout.pretextTeacherRecordKey(fingerprint),
    checkpointKey: layout.pretextCheckpointKey(fingerprint),
    checkpointTrainerKey: layout.pretextCheckpointTrainerKey(fingerprint),
    checkpointStateKey: layout.pretextCheckpointStateKey(fingerprint),
  });
}

/** A line for reports and logs: which teacher a run used. */
export function describeTeacher(ref: TeacherRef | undefined, encoder: string, file?: { sha256: string }): string {
  if (!ref) return `teacher ${encoder} (random, BatchNorm calibrated)`;
  const bn = ref.batchNorm === 'calibrate' ? 'BatchNorm calibrated on the training images' : 'its own BatchNorm statistics';
  switch (ref.source) {
    case 'weights':
      return `teacher ${encoder} from ${ref.from} (sha256 ${ref.file.sha256.slice(0, 12)}…), ${bn}`;
    case 'self-supervised':
      return `teacher ${encoder} self-supervised on the training images (${file ? `sha256 ${file.sha256.slice(0, 12)}…, ` : ''}fingerprint ${ref.fingerprint.slice(0, 12)}…), ${bn}`;
    case 'random':
      return `teacher ${encoder} randomly initialised (no pretrained weights) with ${ref.stem === 'gaussian' ? 'a Gaussian-derivative' : 'a random'} stem, ${bn}`;
  }
}

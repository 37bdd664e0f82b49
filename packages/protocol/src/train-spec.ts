/**
 * The train spec: every setting of a run's training that is the same for all of its jobs —
 * the model's full config (its preset and overrides resolved), the image size, the seed that
 * initialises the model, the batch, the optimiser, the teacher and how it is prepared, and
 * where the images are. The coordinator resolves it once at planning (runs/<id>/run.json holds it) and
 * puts it whole into every train-shard and teacher-pretrain payload, so a worker never
 * re-reads or re-resolves the run config, and a worker of another version cannot resolve a
 * preset differently. What changes from job to job (the round's lr, the job's seed, its
 * shards and steps) stays in the payload beside it.
 */
import { z } from 'zod';
import { ModelConfigSchema } from '@pmamba/model/spec';
import { ArtifactRefSchema, ClassNameSchema, Sha256Schema, distinct, nonNegativeInt, nonNegativeNumber, positiveInt } from './primitives.ts';
import { BAD_IMAGE_POLICIES, DATASET_FORMATS, TEACHER_BATCH_NORM, TEACHER_STEMS, type RunConfig } from './run-config.ts';

const batchNorm = z.enum(TEACHER_BATCH_NORM);

/**
 * Where a run's teacher comes from: a pretrained file (in the store by content), a self-made
 * teacher (in the store by fingerprint, made by a teacher-pretrain job when missing, starting
 * from `stem`), or the seed's initialisation with `stem` as its first convolution.
 * `batchNorm`: whether round 0 re-estimates its statistics on training images.
 */
export const TeacherRefSchema = z.discriminatedUnion('source', [
  z.strictObject({
    source: z.literal('weights'),
    /** The file as the user named it (path or URL). */
    from: z.string().min(1),
    file: ArtifactRefSchema,
    batchNorm,
  }),
  z.strictObject({ source: z.literal('self-supervised'), fingerprint: Sha256Schema, batchNorm, stem: z.enum(TEACHER_STEMS) }),
  z.strictObject({ source: z.literal('random'), batchNorm, stem: z.enum(TEACHER_STEMS) }),
]);
export type TeacherRef = z.output<typeof TeacherRefSchema>;

const beta = z.number().gt(0).lt(1);

export const TrainSpecSchema = z.strictObject({
  /** The model's full config (@pmamba/model's ModelConfig), checked against `imageSize` at planning. */
  model: ModelConfigSchema,
  imageSize: positiveInt(),
  /** Seeds the model's initialisation (the same in every job, so round 0's jobs start equal). */
  seed: nonNegativeInt(),
  /** Images per optimiser step. */
  batchSize: positiveInt(),
  optimizer: z.strictObject({
    weightDecay: nonNegativeNumber(),
    betas: z.tuple([beta, beta]),
    /** Gradient-norm clip; 0: none. */
    clipNorm: nonNegativeNumber(),
    /** At most this many images per forward/backward pass. Absent: the whole batch. */
    microBatch: positiveInt().optional(),
  }),
  teacher: TeacherRefSchema,
  /** Where the images are and how to read them (the format detected at planning). */
  dataset: z.strictObject({
    root: z.string().min(1),
    format: z.enum(DATASET_FORMATS).exclude(['auto']),
    classes: distinct(ClassNameSchema, 'class').min(1),
    badImagePolicy: z.enum(BAD_IMAGE_POLICIES),
  }),
});
export type TrainSpec = z.output<typeof TrainSpecSchema>;
export type TrainSpecModel = TrainSpec['model'];

/**
 * The spec of a run config, from what planning resolved: the model config its `model` block
 * comes to (that needs @pmamba/model's presets and image-size rule), the dataset as found, and
 * the teacher.
 */
export function trainSpecOf(config: RunConfig, resolved: { model: TrainSpecModel; dataset: TrainSpec['dataset']; teacher: TeacherRef }): TrainSpec {
  const t = config.training;
  const { model, dataset, teacher } = resolved;
  return TrainSpecSchema.parse({
    model,
    imageSize: config.dataset.imageSize,
    seed: t.seed,
    batchSize: t.batchSize,
    optimizer: { weightDecay: t.weightDecay, betas: t.betas, clipNorm: t.gradClip ?? 0, ...(t.microBatch ? { microBatch: t.microBatch } : {}) },
    teacher,
    dataset,
  });
}

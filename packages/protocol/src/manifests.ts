/**
 * What a run leaves in the store besides weights: the run record (written first), one manifest
 * per round and model (written last in the round: the round is complete exactly when it
 * exists), and the run manifest (written last of all). `pmamba train --resume` reads the run
 * record and the newest round manifest. Workers add the evaluation record of each class
 * (metrics.json, read back by the report job) and the state of each train-shard checkpoint
 * (read by a retried job to resume).
 */
import { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { formatIssues, parseWith } from './issues.ts';
import { ClassMetricsSchema, ReportTableSchema } from './metrics.ts';
import {
  ArtifactRefSchema,
  ClassNameSchema,
  IsoDateTimeSchema,
  JobIdSchema,
  ModelNameSchema,
  RunIdSchema,
  Sha256Schema,
  distinct,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
} from './primitives.ts';
import { RunConfigSchema, TRAINING_MODES } from './run-config.ts';
import { ShardSchema } from './shard.ts';
import { TrainSpecSchema } from './train-spec.ts';

/** runs/<id>/run.json */
export const RunRecordSchema = z.strictObject({
  kind: z.literal('pmamba.run'),
  version: z.literal(1),
  runId: RunIdSchema,
  createdAt: IsoDateTimeSchema,
  /** The validated config the run uses (CLI overrides applied). */
  config: RunConfigSchema,
  plan: z.strictObject({
    mode: z.enum(TRAINING_MODES),
    classes: distinct(ClassNameSchema, 'class').min(1),
    /** `unified`, or one model per class. */
    models: distinct(ModelNameSchema, 'model').min(1),
    shards: z.array(ShardSchema).min(1),
    rounds: positiveInt(),
    /**
     * The evaluation data by content (`evaluationDataOf` in @pmamba/data): runs with equal
     * fingerprints were scored on the same test images and masks, so their metrics compare.
     */
    evaluationData: z.strictObject({ fingerprint: Sha256Schema, images: nonNegativeInt() }),
  }),
  /** The training settings every job gets, the teacher among them, resolved at planning (train-spec.ts). */
  spec: TrainSpecSchema,
  /** Versions that produced the run, for reproducing it. */
  software: z.strictObject({ pmamba: z.string().min(1), node: z.string().min(1) }).optional(),
});

const RoundJobSchema = z.strictObject({
  jobId: JobIdSchema,
  weights: ArtifactRefSchema,
  samples: positiveInt(),
  loss: z.number().min(0),
});

/** runs/<id>/rounds/<r>/merged/<model>.manifest.json */
export const RoundManifestSchema = z.strictObject({
  kind: z.literal('pmamba.round'),
  version: z.literal(1),
  runId: RunIdSchema,
  round: nonNegativeInt(),
  model: ModelNameSchema,
  /** The aggregated weights: next round's starting point. */
  weights: ArtifactRefSchema,
  /** The averaged optimiser state (AdamW moments): next round's starting moments. */
  trainer: ArtifactRefSchema.optional(),
  /** The train-shard outputs that were averaged. */
  jobs: z.array(RoundJobSchema).min(1),
  samples: positiveInt(),
  /** Sample-weighted mean loss of the jobs. */
  loss: z.number().min(0),
  createdAt: IsoDateTimeSchema,
});

/** runs/<id>/manifest.json — the run finished; everything it lists verified when written. */
export const RunManifestSchema = z.strictObject({
  kind: z.literal('pmamba.run-manifest'),
  version: z.literal(1),
  runId: RunIdSchema,
  rounds: positiveInt(),
  /** Final weights per model. */
  models: z.record(ModelNameSchema, ArtifactRefSchema),
  /** Per-class metrics files. */
  evaluation: z.record(ClassNameSchema, ArtifactRefSchema).default({}),
  /** Report files. */
  report: z.array(ArtifactRefSchema).default([]),
  table: ReportTableSchema.optional(),
  createdAt: IsoDateTimeSchema,
});

/** A curve as plain arrays (x ascending), as @pmamba/metrics returns them for plots. */
export const CurveSchema = z.strictObject({ x: z.array(z.number()), y: z.array(z.number()) });

/** runs/<id>/…/<class>/metrics.json: one class evaluated with one set of weights. */
export const EvaluationRecordSchema = z.strictObject({
  kind: z.literal('pmamba.evaluation'),
  version: z.literal(1),
  runId: RunIdSchema,
  className: ClassNameSchema,
  model: ModelNameSchema,
  /** The weights evaluated. */
  weights: ArtifactRefSchema,
  metrics: ClassMetricsSchema,
  images: z.strictObject({ normal: nonNegativeInt(), anomalous: nonNegativeInt() }),
  /** Test images left out under badImagePolicy `skip`, by sample id. */
  skipped: z.array(z.string()).default([]),
  heatmaps: z.array(z.strictObject({ artifact: ArtifactRefSchema, caption: z.string() })),
  /** ROC / PR / PRO curves for the HTML report; absent where undefined (e.g. no masks). */
  curves: z
    .strictObject({
      image: z.strictObject({ roc: CurveSchema, pr: CurveSchema }),
      pixel: z.strictObject({ roc: CurveSchema, pr: CurveSchema, pro: CurveSchema }),
    })
    .optional(),
  durationMs: nonNegativeNumber(),
  /** Of durationMs: inference (model compute) and the rest (images, weights, metrics, heatmaps). */
  timings: z.strictObject({ computeMs: nonNegativeNumber(), otherMs: nonNegativeNumber() }).optional(),
  backend: z.string().min(1),
  createdAt: IsoDateTimeSchema,
});

/** teachers/self-supervised/<fp>/checkpoint.json: where a teacher-pretrain job got to. */
export const TeacherCheckpointStateSchema = z.strictObject({
  kind: z.literal('pmamba.teacher-checkpoint'),
  version: z.literal(1),
  fingerprint: Sha256Schema,
  step: positiveInt(),
  steps: positiveInt(),
  /** Encoder and pretext head, and the optimiser state, at that step. */
  weights: ArtifactRefSchema,
  trainer: ArtifactRefSchema,
  /** Losses of the steps so far (for the result's final loss). */
  losses: z.array(z.number().min(0)),
  createdAt: IsoDateTimeSchema,
});

/** runs/<id>/rounds/<r>/checkpoints/<job>.json: where a train-shard job got to. */
export const CheckpointStateSchema = z.strictObject({
  kind: z.literal('pmamba.checkpoint'),
  version: z.literal(1),
  runId: RunIdSchema,
  round: nonNegativeInt(),
  jobId: JobIdSchema,
  /** Optimiser steps done; the weights below are the model after this many. */
  step: positiveInt(),
  /** Steps the job runs in all. */
  steps: positiveInt(),
  /** Images seen and the sum of step losses so far, so the result's mean loss covers every step. */
  samples: positiveInt(),
  lossSum: nonNegativeNumber(),
  /** The checkpoint's weights; resuming checks they are still these bytes. */
  weights: ArtifactRefSchema,
  /**
   * The trainer's state at that step (AdamW moments, lr-schedule step, noise-stream position);
   * without it a resumed job continues from the weights with fresh moments.
   */
  trainer: ArtifactRefSchema.optional(),
  /** The weights the job started from (null: from the seed), so a checkpoint of another start is never used. */
  init: ArtifactRefSchema.nullable(),
  createdAt: IsoDateTimeSchema,
});

export type RunRecord = z.output<typeof RunRecordSchema>;
export type RoundManifest = z.output<typeof RoundManifestSchema>;
export type RunManifest = z.output<typeof RunManifestSchema>;
export type EvaluationRecord = z.output<typeof EvaluationRecordSchema>;
export type CheckpointState = z.output<typeof CheckpointStateSchema>;
export type TeacherCheckpointState = z.output<typeof TeacherCheckpointStateSchema>;

/** A validator for `schema` usable as ArtifactStore.getJson's `parse` argument; errors are E_MANIFEST_INVALID naming `what` and the key. */
export function manifestParser<S extends z.ZodType>(schema: S, what: string) {
  return (value: unknown, key?: string): z.output<S> =>
    parseWith(schema, value, (issues) => {
      const lines = formatIssues(issues)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n');
      return new ProtocolError('E_MANIFEST_INVALID', `invalid ${what}${key ? ` "${key}"` : ''}:\n${lines}`, { issues, file: key });
    });
}

/** Validators usable as ArtifactStore.getJson's `parse` argument; `key` names the object in errors. */
export const parseRunRecord = manifestParser(RunRecordSchema, 'run record');
export const parseRoundManifest = manifestParser(RoundManifestSchema, 'round manifest');
export const parseRunManifest = manifestParser(RunManifestSchema, 'run manifest');
export const parseEvaluationRecord = manifestParser(EvaluationRecordSchema, 'evaluation record');
export const parseCheckpointState = manifestParser(CheckpointStateSchema, 'checkpoint state');
export const parseTeacherCheckpointState = manifestParser(TeacherCheckpointStateSchema, 'teacher checkpoint state');

/**
 * What a run leaves in the store besides weights: the run record (written first), one manifest
 * per round and model (written last in the round: the round is complete exactly when it
 * exists), and the run manifest (written last of all). `pmamba train --resume` reads the run
 * record and the newest round manifest.
 */
import { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { formatIssues, parseWith } from './issues.ts';
import { ReportTableSchema } from './metrics.ts';
import {
  ArtifactRefSchema,
  ClassNameSchema,
  IsoDateTimeSchema,
  JobIdSchema,
  ModelNameSchema,
  RunIdSchema,
  distinct,
  nonNegativeInt,
  positiveInt,
} from './primitives.ts';
import { RunConfigSchema, TRAINING_MODES } from './run-config.ts';
import { ShardSchema } from './shard.ts';

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
  }),
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

export type RunRecord = z.output<typeof RunRecordSchema>;
export type RoundManifest = z.output<typeof RoundManifestSchema>;
export type RunManifest = z.output<typeof RunManifestSchema>;

function parser<S extends z.ZodType>(schema: S, what: string) {
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
export const parseRunRecord = parser(RunRecordSchema, 'run record');
export const parseRoundManifest = parser(RoundManifestSchema, 'round manifest');
export const parseRunManifest = parser(RunManifestSchema, 'run manifest');

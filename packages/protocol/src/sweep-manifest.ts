/**
 * `sweeps/<name>/sweep.json`: a sweep's variants × seeds, the run of each, and how far each got.
 * The coordinator running the sweep is its only writer; it rewrites the whole manifest after
 * every change, so an interrupted sweep resumes from it (`pmamba sweep --resume NAME`): done
 * and stopped runs are kept, the others continue from what their runs hold in the store.
 */
import { z } from 'zod';
import { ClassMetricsSchema } from './metrics.ts';
import { manifestParser } from './manifests.ts';
import { IsoDateTimeSchema, RunIdSchema, nonNegativeInt, nonNegativeNumber, positiveInt } from './primitives.ts';
import { EARLY_STOPPING_RULES } from './sweep-schema.ts';

export const SWEEP_RUN_STATUSES = ['pending', 'running', 'done', 'stopped', 'failed'] as const;
export type SweepRunStatus = (typeof SWEEP_RUN_STATUSES)[number];

const SweepRunSchema = z.strictObject({
  seed: nonNegativeInt(),
  runId: RunIdSchema,
  status: z.enum(SWEEP_RUN_STATUSES),
  /** mAD after each evaluated round between 0 and the last (the median rule compares these), by round. */
  evaluated: z.record(z.string().regex(/^\d+$/), z.number().nullable()).default({}),
  /** The mean row of its last evaluation (done: the final one; stopped: where it stopped). */
  result: ClassMetricsSchema.optional(),
  stoppedAt: positiveInt().optional(),
  /** Why it stopped or failed. */
  reason: z.string().optional(),
  startedAt: IsoDateTimeSchema.optional(),
  finishedAt: IsoDateTimeSchema.optional(),
  /** Wall seconds of its last attempt (a resumed run: only the part after resuming). */
  seconds: nonNegativeNumber().optional(),
});

export const SweepManifestSchema = z.strictObject({
  kind: z.literal('pmamba.sweep'),
  version: z.literal(1),
  name: RunIdSchema,
  createdAt: IsoDateTimeSchema,
  /** The config as given (command-line overrides applied, sweep block included): variants are expanded from it again on resume. */
  source: z.record(z.string(), z.unknown()),
  /** Where the config came from, for messages. */
  sourceName: z.string(),
  paths: z.array(z.string()).min(1),
  seeds: z.array(nonNegativeInt()).min(1),
  baseline: nonNegativeInt(),
  maxParallel: positiveInt(),
  earlyStopping: z.strictObject({ rule: z.enum(EARLY_STOPPING_RULES), minPeers: positiveInt() }).nullable(),
  variants: z
    .array(
      z.strictObject({
        index: nonNegativeInt(),
        label: z.string(),
        overrides: z.record(z.string(), z.unknown()),
        runs: z.array(SweepRunSchema).min(1),
      }),
    )
    .min(1),
});

export type SweepManifest = z.output<typeof SweepManifestSchema>;
export type SweepRun = SweepManifest['variants'][number]['runs'][number];

/** Validates a sweep manifest (E_MANIFEST_INVALID); usable as ArtifactStore.getJson's `parse`. */
export const parseSweepManifest = manifestParser(SweepManifestSchema, 'sweep manifest');

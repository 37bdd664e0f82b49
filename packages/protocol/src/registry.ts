/**
 * The model registry's records (@pmamba/registry writes them): one per version of a named
 * model, written last in its folder (the version exists exactly when its record does), and the
 * champion alias with every promotion and rollback so far.
 */
import { z } from 'zod';
import { manifestParser } from './manifests.ts';
import { METRIC_NAMES, ReportTableSchema } from './metrics.ts';
import { ArtifactRefSchema, IsoDateTimeSchema, ModelNameSchema, RunIdSchema, Sha256Schema, nonNegativeInt, nonNegativeNumber, positiveInt } from './primitives.ts';
import { RunConfigSchema } from './run-config.ts';

/** A registered model's name: an id, like a run's (one key segment, no dots). */
const RegisteredNameSchema = RunIdSchema;

/** What the promotion gate decided when the version was registered (champion.json says who is champion now). */
export const GateDecisionSchema = z.strictObject({
  promoted: z.boolean(),
  /** Why, in words a user reads: the values compared and the margin, or why they could not be. */
  reason: z.string().min(1),
  /** The metric compared (the mean over classes); higher is better. */
  metric: z.enum(METRIC_NAMES),
  /** How much the new value had to beat the champion's by (a fraction, like the metrics). */
  margin: nonNegativeNumber(),
  /** The champion the version was compared with; absent when there was none. */
  championBefore: positiveInt().optional(),
});

/** models/<name>/versions/<n>/version.json */
export const ModelVersionSchema = z.strictObject({
  kind: z.literal('pmamba.model-version'),
  version: z.literal(1),
  name: RegisteredNameSchema,
  number: positiveInt(),
  createdAt: IsoDateTimeSchema,
  /** The run the weights and metrics come from (its run.json is copied beside this record). */
  sourceRun: RunIdSchema,
  /** The run's evaluation data by content: only versions with equal fingerprints compare. */
  evaluationData: z.strictObject({ fingerprint: Sha256Schema, images: nonNegativeInt() }),
  /** The benchmark table of the run's final evaluation (copied as report.json too). */
  metrics: ReportTableSchema,
  /** The copied final weights per model (`unified`, or one per class). */
  weights: z.record(ModelNameSchema, ArtifactRefSchema),
  /** The run's config (image size, model, evaluation settings). */
  config: RunConfigSchema,
  /** The software versions that produced the run, when it recorded them. */
  software: z.strictObject({ pmamba: z.string().min(1), node: z.string().min(1) }).optional(),
  gate: GateDecisionSchema,
  note: z.string().min(1).optional(),
});

export const CHAMPION_ACTIONS = ['promote', 'rollback', 'manual-promote'] as const;
export type ChampionAction = (typeof CHAMPION_ACTIONS)[number];

/** One change of the champion. */
export const ChampionChangeSchema = z.strictObject({
  /** The champion from then on. */
  version: positiveInt(),
  at: IsoDateTimeSchema,
  action: z.enum(CHAMPION_ACTIONS),
  reason: z.string().min(1),
  /** The champion before (null: there was none). */
  previous: positiveInt().nullable(),
});

/** models/<name>/champion.json — replaced whole (one atomic write) on every change. */
export const ModelChampionSchema = z.strictObject({
  kind: z.literal('pmamba.model-champion'),
  version: z.literal(1),
  name: RegisteredNameSchema,
  champion: positiveInt().nullable(),
  /** Every change so far, oldest first. */
  history: z.array(ChampionChangeSchema),
});

export type GateDecision = z.output<typeof GateDecisionSchema>;
export type ModelVersion = z.output<typeof ModelVersionSchema>;
export type ChampionChange = z.output<typeof ChampionChangeSchema>;
export type ModelChampion = z.output<typeof ModelChampionSchema>;

/** Validators usable as ArtifactStore.getJson's `parse` argument; `key` names the object in errors. */
export const parseModelVersion = manifestParser(ModelVersionSchema, 'model version record');
export const parseModelChampion = manifestParser(ModelChampionSchema, 'model champion record');
/** A benchmark table as report.json holds it (`{"classes": …, "mean": …}`). */
export const parseReportTable = manifestParser(ReportTableSchema, 'report table');

/**
 * Job payloads (what the coordinator enqueues) and results (what a worker returns), one pair
 * per queue. Workers parse payloads on arrival and the coordinator parses results on
 * completion, so a malformed job fails with the field named instead of deep inside training.
 * Every store key a job writes is in its payload, built by the coordinator with layout.ts: a
 * worker never derives a key itself (an evaluate job only names its heatmap files).
 */
import { z } from 'zod';
import { PayloadError } from './errors.ts';
import { formatIssues, parseWith } from './issues.ts';
import { ClassMetricsSchema, ReportTableSchema } from './metrics.ts';
import {
  ArtifactRefSchema,
  ClassNameSchema,
  JobIdSchema,
  ModelNameSchema,
  RunIdSchema,
  Sha256Schema,
  StoreKeySchema,
  distinct,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
} from './primitives.ts';
import { QUEUE_NAMES, QueueNameSchema, type QueueName } from './queues.ts';
import { MEMORY_FEATURES, REPORT_FORMATS } from './run-config.ts';
import { ShardSchema } from './shard.ts';
import { TrainSpecSchema } from './train-spec.ts';

const finiteLoss = () => z.number({ error: 'expected a finite, non-negative loss' }).min(0, { error: 'expected a finite, non-negative loss' });

export const TrainShardPayloadSchema = z
  .strictObject({
    runId: RunIdSchema,
    round: nonNegativeInt(),
    /** Unique within the round; names the job's output keys. */
    jobId: JobIdSchema,
    /** `unified`, or the class in per-class mode. */
    model: ModelNameSchema,
    shards: z.array(ShardSchema).min(1, { error: 'expected at least one shard' }),
    /** Weights to start from; null in round 0 (initialise from the seed). */
    init: ArtifactRefSchema.nullable(),
    /**
     * With `init` null: the teacher weights (torchvision/timm names, .pth or safetensors) the
     * seed-initialised model's teacher takes before its BatchNorm is (optionally) calibrated.
     * Absent: the teacher stays randomly initialised.
     */
    teacher: ArtifactRefSchema.optional(),
    /**
     * With `init` null: also save the seed-initialised model here — round 0's starting point,
     * evaluated as the untrained model. Every round-0 job writes the same bytes.
     */
    initOutputKey: StoreKeySchema.optional(),
    /**
     * Optimiser state to continue from: the previous round's averaged AdamW moments, so a round
     * does not restart Adam from zero moments (absent in round 0).
     */
    initTrainer: ArtifactRefSchema.optional(),
    /** Where the job's final optimiser state goes, for the aggregate to average. */
    trainerOutputKey: StoreKeySchema.optional(),
    /**
     * With `init` null and a teacher whose BatchNorm is calibrated: the training images that
     * calibrate it (a seeded sample over the model's whole plan, so every round-0 job of the
     * model computes the same statistics).
     */
    calibration: z.array(z.string().min(1)).min(1).optional(),
    /**
     * The run record (run.json) as the coordinator's store holds it: a worker whose store does
     * not have these bytes is looking at another store, and gives the job back for another worker.
     */
    run: ArtifactRefSchema,
    /** The run's training settings, resolved at planning (train-spec.ts). */
    spec: TrainSpecSchema,
    /** Optimiser steps to run (exclusive with localEpochs). */
    localSteps: positiveInt().optional(),
    /** Passes over the shards (exclusive with localSteps). */
    localEpochs: positiveNumber().optional(),
    /** Learning rate for this round (milestones already applied). */
    lr: positiveNumber(),
    /** The job's own seed: its batches and noise, the same on every retry. */
    seed: nonNegativeInt(),
    /** Where the trained weights go (runs/<id>/rounds/<r>/<job>.safetensors). */
    outputKey: StoreKeySchema,
    /** Where the job's result record goes, written last: the job is done when it exists (runs/<id>/rounds/<r>/<job>.json). */
    resultKey: StoreKeySchema,
    /** Where checkpoints go, so a retried job resumes: the weights, the optimiser state and the state record (written last). */
    checkpointKey: StoreKeySchema,
    checkpointTrainerKey: StoreKeySchema,
    checkpointStateKey: StoreKeySchema,
    checkpointEverySteps: positiveInt(),
  })
  .superRefine((p, ctx) => {
    if (p.localSteps === undefined && p.localEpochs === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'set one of localSteps or localEpochs' });
    } else if (p.localSteps !== undefined && p.localEpochs !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['localEpochs'], message: 'set either localSteps or localEpochs, not both' });
    }
  });

export const TrainShardResultSchema = z.strictObject({
  runId: RunIdSchema,
  round: nonNegativeInt(),
  jobId: JobIdSchema,
  weights: ArtifactRefSchema,
  /** The optimiser state at the end (when the payload asked for it). */
  trainer: ArtifactRefSchema.optional(),
  /** Images seen; aggregation weights this job's output by it. */
  samples: positiveInt(),
  steps: positiveInt(),
  /** Mean training loss over the job's steps. */
  loss: finiteLoss(),
  /** Step the job resumed from after a retry; 0 when it started fresh. */
  resumedFromStep: nonNegativeInt().default(0),
  durationMs: nonNegativeNumber(),
  /** Compute backend that ran it (tensorflow-gpu, tensorflow, wasm, cpu). */
  backend: z.string().min(1),
  /** Where the time went, in ms: model compute (optimiser steps) against I/O and bookkeeping. */
  timings: z
    .strictObject({
      computeMs: nonNegativeNumber(),
      dataMs: nonNegativeNumber(),
      storeMs: nonNegativeNumber(),
      modelLoadMs: nonNegativeNumber(),
    })
    .optional(),
});

/** Pretrains a self-made teacher (the run's `model.teacher.pretrain` settings) on `items`. */
export const TeacherPretrainPayloadSchema = z.strictObject({
  /** sha256 of the images and settings: names the teacher in the store, so runs share it. */
  fingerprint: Sha256Schema,
  /** The run that asked for it. */
  runId: RunIdSchema,
  /**
   * The run record (run.json) as the coordinator's store holds it: a worker whose store does
   * not have these bytes is looking at another store, and gives the job back for another worker.
   */
  run: ArtifactRefSchema,
  /** The run's training settings: the model, image size, seed, dataset and the self-made teacher's stem. */
  spec: TrainSpecSchema.refine((s) => s.teacher.source === 'self-supervised', { error: 'expected a run whose teacher is self-supervised', path: ['teacher', 'source'] }),
  /** Sample ids of the normal training images it learns from. */
  items: z.array(z.string().min(1)).min(1, { error: 'expected at least one training image' }),
  steps: positiveInt(),
  batchSize: positiveInt(),
  lr: positiveNumber(),
  /** Encoder stages left at their initialisation (model.teacher.pretrain.frozenStages). */
  frozenStages: nonNegativeInt().max(3).default(0),
  /** The pretext stream's seed. */
  seed: nonNegativeInt(),
  checkpointEverySteps: positiveInt(),
  /** Where the teacher goes (safetensors, torchvision names) and its record, written last. */
  outputKey: StoreKeySchema,
  recordKey: StoreKeySchema,
  /** Where checkpoints go, so a retried job resumes. */
  checkpointKey: StoreKeySchema,
  checkpointTrainerKey: StoreKeySchema,
  checkpointStateKey: StoreKeySchema,
});

/** teachers/self-supervised/<fp>/teacher.json, and the teacher-pretrain job's result. */
export const TeacherPretrainResultSchema = z.strictObject({
  kind: z.literal('pmamba.teacher'),
  version: z.literal(1),
  fingerprint: Sha256Schema,
  /** The run that made it (later runs with the same fingerprint reuse it). */
  runId: RunIdSchema,
  encoder: z.string().min(1),
  imageSize: positiveInt(),
  teacher: ArtifactRefSchema,
  images: positiveInt(),
  steps: positiveInt(),
  /** Mean pretext loss over the last 10% of the steps. */
  finalLoss: finiteLoss(),
  resumedFromStep: nonNegativeInt(),
  durationMs: nonNegativeNumber(),
  backend: z.string().min(1),
  createdAt: z.string().min(1),
});

export const AggregatePayloadSchema = z.strictObject({
  runId: RunIdSchema,
  round: nonNegativeInt(),
  model: ModelNameSchema,
  /** The train-shard children whose outputs are averaged. */
  jobIds: distinct(JobIdSchema, 'job id').min(1, { error: 'expected at least one job id' }),
  /** Where the averaged weights go (runs/<id>/rounds/<r>/merged/<model>.safetensors). */
  outputKey: StoreKeySchema,
  /** The round manifest, written last (runs/<id>/rounds/<r>/merged/<model>.manifest.json). */
  manifestKey: StoreKeySchema,
  /** Where the averaged optimiser state goes, when every child saved its own. */
  trainerOutputKey: StoreKeySchema.optional(),
  /** True when no round follows. */
  lastRound: z.boolean(),
});

export const AggregateResultSchema = z.strictObject({
  runId: RunIdSchema,
  round: nonNegativeInt(),
  model: ModelNameSchema,
  weights: ArtifactRefSchema,
  /** The averaged optimiser state: the next round's starting moments. */
  trainer: ArtifactRefSchema.optional(),
  /** Sum of the children's samples. */
  samples: positiveInt(),
  /** Sample-weighted mean of the children's losses. */
  loss: finiteLoss(),
  manifest: ArtifactRefSchema,
});

/** Fits a model's residual-Gaussian anomaly map on normal training images; writes weights + map. */
/** What a fit-map job fits: the settings of evaluation.residualGaussian or evaluation.memory. */
export const FittedMapSettingsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('residual-gaussian'),
    scales: distinct(nonNegativeInt(), 'scale').min(1),
    shrinkage: z.number().min(0).max(0.999),
  }),
  z.strictObject({
    kind: z.literal('memory'),
    features: z.enum(MEMORY_FEATURES),
    scale: z.union([z.literal('stem'), nonNegativeInt()]),
    inputScale: z.union([z.literal(1), z.literal(2)]),
    classBanks: z.boolean(),
    bankSize: positiveInt(),
  }),
]);
export type FittedMapSettings = z.output<typeof FittedMapSettingsSchema>;

export const FitMapPayloadSchema = z.strictObject({
  runId: RunIdSchema,
  /** `unified`, or the class in per-class mode. */
  model: ModelNameSchema,
  /** The weights the map is fitted for. */
  weights: ArtifactRefSchema,
  /** The run record (run.json) in the coordinator's store: the dataset, and the check that the worker sees that store. */
  run: ArtifactRefSchema,
  /** Sample ids of the normal training images fitted on (a seeded sample of the model's). */
  items: z.array(z.string().min(1)).min(1, { error: 'expected at least one training image' }),
  map: FittedMapSettingsSchema,
  /** Where the weights with the fitted map go (runs/<id>/eval/<model>.safetensors, or eval-at/<r>/…). */
  outputKey: StoreKeySchema,
});

export const FitMapResultSchema = z.strictObject({
  runId: RunIdSchema,
  model: ModelNameSchema,
  /** The input weights with the fitted map: what the evaluation scores with. */
  weights: ArtifactRefSchema,
  /** Training images fitted on (after any the bad-image policy skipped). */
  images: positiveInt(),
  durationMs: nonNegativeNumber(),
  backend: z.string().min(1),
});

export const EvaluatePayloadSchema = z.strictObject({
  runId: RunIdSchema,
  className: ClassNameSchema,
  /** The model evaluated: `unified`, or the class in per-class mode. */
  model: ModelNameSchema,
  weights: ArtifactRefSchema,
  /** The run record (run.json) in the coordinator's store: the evaluation settings, and the check that the worker sees that store. */
  run: ArtifactRefSchema,
  /** Where per-class metrics go (runs/<id>/eval/<class>/metrics.json). */
  metricsKey: StoreKeySchema,
  /** Anomaly-map images to save. */
  heatmaps: nonNegativeInt(),
  /**
   * Key prefix (no trailing '/') the anomaly-map images go under (runs/<id>/eval/<class>/heatmaps);
   * the job names each file after its test image.
   */
  heatmapsPrefix: StoreKeySchema,
});

export const EvaluateResultSchema = z.strictObject({
  runId: RunIdSchema,
  className: ClassNameSchema,
  metrics: ClassMetricsSchema,
  /** Test images evaluated. */
  images: z.strictObject({ normal: nonNegativeInt(), anomalous: nonNegativeInt() }),
  metricsArtifact: ArtifactRefSchema,
  heatmaps: z.array(ArtifactRefSchema),
  durationMs: nonNegativeNumber(),
});

export const ReportPayloadSchema = z
  .strictObject({
    runId: RunIdSchema,
    classes: distinct(ClassNameSchema, 'class').min(1, { error: 'expected at least one class' }),
    formats: distinct(z.enum(REPORT_FORMATS), 'format').min(1, { error: 'expected at least one report format' }),
    /** Each class's evaluation record (runs/<id>/eval/<class>/metrics.json), one per class. */
    metricsKeys: z.record(ClassNameSchema, StoreKeySchema),
    /** Where each format's report file goes (runs/<id>/report/report.<format>), one per format. */
    reportKeys: z.partialRecord(z.enum(REPORT_FORMATS), StoreKeySchema),
    /** Heading of the report. Default: the run id. */
    title: z.string().min(1).max(200).optional(),
    /** Lines under the heading (weights, rounds, dataset). */
    notes: z.array(z.string().max(500)).max(20).optional(),
  })
  .superRefine((p, ctx) => {
    // Runs after non-fatal issues too: read defensively.
    for (const c of p.classes) {
      if (p.metricsKeys?.[c] === undefined) ctx.addIssue({ code: 'custom', path: ['metricsKeys', c], message: `expected the evaluation record key of class ${JSON.stringify(c)}` });
    }
    for (const f of p.formats) {
      if (p.reportKeys?.[f] === undefined) ctx.addIssue({ code: 'custom', path: ['reportKeys', f], message: `expected the key of the ${f} report` });
    }
  });

export const ReportResultSchema = z.strictObject({
  runId: RunIdSchema,
  table: ReportTableSchema,
  /** The report files written (runs/<id>/report/report.<format>). */
  artifacts: z.array(ArtifactRefSchema).min(1),
});

/**
 * What train-shard and evaluate jobs report as their BullMQ progress, so a coordinator can draw
 * progress bars: `done` of `total` steps (training) or images (evaluation).
 */
export const JobProgressSchema = z.strictObject({
  done: nonNegativeInt(),
  total: positiveInt(),
  unit: z.enum(['steps', 'images']),
  /** Mean loss of the steps so far (training). */
  loss: nonNegativeNumber().optional(),
  /** Step a retried job resumed from. */
  resumedFrom: nonNegativeInt().optional(),
});
export type JobProgress = z.output<typeof JobProgressSchema>;

/** Payload and result schema of each queue. */
export const JOB_SCHEMAS = {
  [QUEUE_NAMES.teacherPretrain]: { payload: TeacherPretrainPayloadSchema, result: TeacherPretrainResultSchema },
  [QUEUE_NAMES.trainShard]: { payload: TrainShardPayloadSchema, result: TrainShardResultSchema },
  [QUEUE_NAMES.aggregate]: { payload: AggregatePayloadSchema, result: AggregateResultSchema },
  [QUEUE_NAMES.fitMap]: { payload: FitMapPayloadSchema, result: FitMapResultSchema },
  [QUEUE_NAMES.evaluate]: { payload: EvaluatePayloadSchema, result: EvaluateResultSchema },
  [QUEUE_NAMES.report]: { payload: ReportPayloadSchema, result: ReportResultSchema },
} as const satisfies Record<QueueName, { payload: z.ZodType; result: z.ZodType }>;

export type JobPayload<Q extends QueueName> = z.output<(typeof JOB_SCHEMAS)[Q]['payload']>;
export type JobResult<Q extends QueueName> = z.output<(typeof JOB_SCHEMAS)[Q]['result']>;
export type TeacherPretrainPayload = JobPayload<'teacher-pretrain'>;
export type TeacherPretrainResult = JobResult<'teacher-pretrain'>;
export type TrainShardPayload = JobPayload<'train-shard'>;
export type TrainShardResult = JobResult<'train-shard'>;
export type AggregatePayload = JobPayload<'aggregate'>;
export type AggregateResult = JobResult<'aggregate'>;
export type FitMapPayload = JobPayload<'fit-map'>;
export type FitMapResult = JobResult<'fit-map'>;
export type EvaluatePayload = JobPayload<'evaluate'>;
export type EvaluateResult = JobResult<'evaluate'>;
export type ReportPayload = JobPayload<'report'>;
export type ReportResult = JobResult<'report'>;

function queueOf(queue: string): QueueName {
  const parsed = QueueNameSchema.safeParse(queue);
  if (!parsed.success) {
    throw new PayloadError('E_QUEUE_UNKNOWN', queue, `unknown queue ${JSON.stringify(queue)}; expected one of ${Object.values(QUEUE_NAMES).join(', ')}`);
  }
  return parsed.data;
}

function describeJob(queue: string, jobId: string | undefined): string {
  return jobId === undefined ? `${queue} job` : `${queue} job ${jobId}`;
}

/** Validates a job's data against its queue's payload schema; E_PAYLOAD_INVALID names the field. */
export function parseJobPayload<Q extends QueueName>(queue: Q, data: unknown, jobId?: string): JobPayload<Q> {
  const schema = JOB_SCHEMAS[queueOf(queue)].payload;
  return parseWith(schema, data, (issues) =>
    new PayloadError('E_PAYLOAD_INVALID', queue, `invalid payload for ${describeJob(queue, jobId)}:\n${indent(formatIssues(issues))}`, issues),
  ) as JobPayload<Q>;
}

/** Validates a job's return value against its queue's result schema; E_RESULT_INVALID names the field. */
export function parseJobResult<Q extends QueueName>(queue: Q, data: unknown, jobId?: string): JobResult<Q> {
  const schema = JOB_SCHEMAS[queueOf(queue)].result;
  return parseWith(schema, data, (issues) =>
    new PayloadError('E_RESULT_INVALID', queue, `invalid result from ${describeJob(queue, jobId)}:\n${indent(formatIssues(issues))}`, issues),
  ) as JobResult<Q>;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/**
 * The run config: what `pmamba train -c configs/<name>.yaml` reads. Field names are camelCase
 * throughout, like the model package's own config, so the `model` block can be handed over as is.
 *
 *   run:        id and name of the run
 *   dataset:    where the images are and how to read them (optionally: generate a synthetic set)
 *   model:      preset + overrides, validated by @pmamba/model (parseModelConfig)
 *   training:   rounds, local budget, optimiser, sharding over workers
 *   evaluation: metrics, anomaly-map post-processing, report formats
 *   store:      artifact store URL
 *   redis:      BullMQ connection
 *   sweep:      optional grid of overrides; each grid point is a run of its own
 */
import { z } from 'zod';
import { ModelConfigSchema, PRESETS, PRESET_NAMES, checkImageSize, type PresetName } from '@pmamba/model/spec';
import { suggestField } from './issues.ts';
import {
  ClassNameSchema,
  boundedInt,
  RunIdSchema,
  Sha256Schema,
  distinct,
  nonNegativeInt,
  nonNegativeNumber,
  positiveInt,
  positiveNumber,
  unitFraction,
} from './primitives.ts';
import { SweepSchema } from './sweep-schema.ts';
import { METRIC_NAMES } from './metrics.ts';
import { hasClusterScheme, prefixHashTag } from './connection.ts';

export const DATASET_FORMATS = ['auto', 'mvtec', 'visa', 'mvtec-ad2', 'btad', 'folder'] as const;
export const BAD_IMAGE_POLICIES = ['fail', 'skip'] as const;
export const TRAINING_MODES = ['unified', 'per-class'] as const;
export const REPORT_FORMATS = ['md', 'csv', 'json', 'html'] as const;
export const MAP_REDUCTIONS = ['mean', 'reference'] as const;
export const IMAGE_SCORES = ['max', 'top1%'] as const;
export const ANOMALY_MAPS = ['cosine', 'residual-gaussian', 'memory'] as const;
export type AnomalyMapKind = (typeof ANOMALY_MAPS)[number];
/** What a memory-bank map stores per location (the model's MEMORY_FEATURES). */
export const MEMORY_FEATURES = ['teacher', 'teacher+residual'] as const;

export const DEFAULT_STORE_URL = 'file://./artifacts';
export const DEFAULT_REDIS_PREFIX = 'pmamba';

export const RunSectionSchema = z.strictObject({
  /** Names the run's folder in the store (`runs/<id>/`). Default: chosen by the coordinator from the name and time. */
  id: RunIdSchema.optional(),
  /** Human-readable title for reports. */
  name: z.string().min(1).max(200).optional(),
  description: z.string().max(2000).optional(),
});

/** Options of @pmamba/data's synthetic generator; the set is written to `dataset.root` when missing. */
export const SyntheticDatasetSchema = z.strictObject({
  /** How many of the generator's classes, or which ones by name. Default: 3. */
  classes: z
    .union([positiveInt(), distinct(ClassNameSchema, 'class').min(1)], { error: 'expected a number of classes or a list of class names' })
    .default(3),
  /** Side of the generated images in pixels (≥ 32). Default: 128. */
  size: positiveInt().min(32, { error: 'expected an image side of at least 32 pixels' }).default(128),
  /** Normal training images per class. Default: 40. */
  train: positiveInt().default(40),
  /** Test images per class, half normal and half defective. Default: 20. */
  test: positiveInt().default(20),
  /** Default: 0. */
  seed: nonNegativeInt().default(0),
});

export const DatasetSchema = z.strictObject({
  /** Dataset folder, relative to the working directory; `--data` overrides it. */
  root: z.string({ error: 'expected a folder path' }).min(1, { error: 'expected a folder path' }),
  /** Layout of the folder. Default: auto (detected). */
  format: z.enum(DATASET_FORMATS).default('auto'),
  /** `all`, or the classes to use. Default: all. */
  classes: z
    .union([z.literal('all'), distinct(ClassNameSchema, 'class').min(1)], { error: 'expected "all" or a list of class names' })
    .default('all'),
  /** Images are resized to this square side; a multiple of 32 (the decoder halves it five times). Default: 256. */
  imageSize: positiveInt().multipleOf(32, { error: 'expected a multiple of 32' }).default(256),
  /** A corrupt image or missing mask: `fail` stops with its path, `skip` leaves it out and warns. Default: fail. */
  badImagePolicy: z.enum(BAD_IMAGE_POLICIES).default('fail'),
  /** Generate a synthetic MVTec-layout set at `root` first. Default: none (use an existing dataset). */
  synthetic: SyntheticDatasetSchema.optional(),
});

/**
 * The model block is checked here only for its preset; everything else (encoder, depths,
 * dState, expand, pyramid {mode: levels, levels: [l0..l3]} | {mode: reference,
 * level3Threshold}, noiseStd, dropPathRate) passes through to @pmamba/model, which validates
 * it with its own schema when the run starts.
 */
export const TEACHER_BATCH_NORM = ['calibrate', 'keep'] as const;
export const TEACHER_INITS = ['random', 'self-supervised'] as const;
export const TEACHER_STEMS = ['gaussian', 'random'] as const;
export type TeacherStem = (typeof TEACHER_STEMS)[number];

/** Self-supervised teacher pretraining: a job of its own before round 0, cached in the store. */
export const TeacherPretrainSchema = z.strictObject({
  /** Optimiser steps. Default: 300. */
  steps: positiveInt().max(1_000_000, { error: 'expected at most 1000000 steps' }).default(300),
  /** Images per step. Default: 16. */
  batchSize: positiveInt().max(4096, { error: 'expected at most 4096 images per step' }).default(16),
  /** AdamW learning rate. Default: 0.001. */
  lr: positiveNumber().default(0.001),
  /**
   * Encoder stages kept at their random initialisation (0: train all; 1: the stem; 2: the stem
   * and layer1; …): generic low-level filters that the pretext task cannot over-specialise.
   * Default: 0.
   */
  frozenStages: z.int({ error: 'expected 0 to 3' }).min(0, { error: 'expected 0 to 3' }).max(3, { error: 'expected 0 to 3' }).default(0),
  /** At most this many normal training images (a seeded sample over every class), decoded once into memory. Default: 512. */
  images: positiveInt().max(100_000, { error: 'expected at most 100000 images' }).default(512),
  /** The job checkpoints every this many steps, so a retry resumes. Default: 50. */
  checkpointEverySteps: positiveInt().default(50),
});

export const TeacherSchema = z.strictObject({
  /**
   * Pretrained teacher weights: a file path (relative to the working directory) or an http(s)
   * URL; torchvision `.pth` or safetensors with torchvision/timm names, for the model's encoder.
   * `train` copies the file into the store (content-addressed) and workers take it from there.
   * `--teacher-weights` overrides it. Default: none.
   */
  weights: z.string({ error: 'expected a file path or an http(s) URL' }).min(1, { error: 'expected a file path or an http(s) URL' }).optional(),
  /**
   * sha256 the `weights` file must have. A URL needs it unless it is one of `pmamba weights
   * list`'s (pinned there); for a path it is checked when given. Default: none.
   */
  sha256: Sha256Schema.optional(),
  /**
   * Without `weights`: `random` keeps the seed's random encoder (its BatchNorm calibrated on
   * the training images); `self-supervised` first pretrains the encoder on the run's normal
   * training images to segment synthetic defects painted into them (a teacher-pretrain job,
   * cached in the store). Measured (docs/results.md): the self-made teacher lifts the synthetic
   * quickstart classes but does worse than the random one on real photographs of textures, so
   * random stays the default. Default: random.
   */
  init: z.enum(TEACHER_INITS).default('random'),
  /**
   * Without `weights`: the encoder's first convolution. `gaussian`: Gaussian-derivative filters
   * (intensity jet and colour opponents at σ 0.5, 1, 2 px), the deeper stages random; `random`:
   * the seed's random filters. Measured (docs/results.md): gaussian lifts mean I-AUROC on real
   * photographs of textures from 73.5 to 82.4 (no better on held-out photographs). A
   * self-supervised teacher starts from it.
   * Default: gaussian.
   */
  stem: z.enum(TEACHER_STEMS).optional(),
  /**
   * `calibrate`: before round 0 the teacher's BatchNorm statistics are re-estimated on the
   * model's training images; `keep`: use them as they are. Default: keep for pretrained
   * `weights` (their ImageNet statistics), calibrate otherwise.
   */
  batchNorm: z.enum(TEACHER_BATCH_NORM).optional(),
  /** At most this many training images (a seeded sample) calibrate the statistics. Default: 256. */
  calibrationImages: positiveInt().default(256),
  /** Settings of `init: self-supervised`. */
  pretrain: TeacherPretrainSchema.prefault({}),
}).superRefine((t, ctx) => {
  if (t.weights !== undefined && t.stem !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['stem'], message: 'applies only to a teacher made without weights: remove model.teacher.stem or model.teacher.weights' });
  }
});
export type TeacherConfig = z.output<typeof TeacherSchema>;

/** Where a run's teacher comes from, and whether its BatchNorm statistics are calibrated. */
export function teacherSource(
  teacher: TeacherConfig,
):
  | { source: 'weights'; batchNorm: (typeof TEACHER_BATCH_NORM)[number] }
  | { source: 'self-supervised' | 'random'; batchNorm: (typeof TEACHER_BATCH_NORM)[number]; stem: TeacherStem } {
  if (teacher.weights !== undefined) return { source: 'weights', batchNorm: teacher.batchNorm ?? 'keep' };
  // A teacher made here starts from `stem` (Gaussian unless asked otherwise) and calibrates its BatchNorm.
  return { source: teacher.init, batchNorm: teacher.batchNorm ?? 'calibrate', stem: teacher.stem ?? 'gaussian' };
}

export const ModelSectionSchema = z.looseObject({
  /** Starting point the other fields override. Default: reference (the paper's model). */
  preset: z.enum(PRESET_NAMES).default('reference'),
  /** How the frozen teacher is prepared before training. */
  teacher: TeacherSchema.prefault({}),
});

/** The model section split into the preset, the overrides @pmamba/model validates, and the teacher settings. */
export function modelSection(model: z.output<typeof ModelSectionSchema>): {
  preset: PresetName;
  overrides: Record<string, unknown>;
  teacher: z.output<typeof TeacherSchema>;
} {
  const { preset, teacher, ...overrides } = model;
  return { preset, teacher, overrides };
}

export const TrainingSchema = z
  .strictObject({
    /** `unified`: one model for all classes (the paper); `per-class`: one model per class. Default: unified. */
    mode: z.enum(TRAINING_MODES).default('unified'),
    /** Aggregation rounds. */
    rounds: boundedInt(10_000, 'rounds'),
    /** Optimiser steps each train-shard job runs per round (exclusive with localEpochs). */
    localSteps: boundedInt(10_000_000, 'steps').optional(),
    /** Passes over its shards each train-shard job makes per round (exclusive with localSteps). */
    localEpochs: positiveNumber().max(10_000, { error: 'expected at most 10,000 epochs' }).optional(),
    /** Images per step and job. Default: 16. */
    batchSize: boundedInt(4096, 'images per step').default(16),
    /**
     * At most this many images per forward/backward pass; a larger batch accumulates gradients
     * over slices of it (BatchNorm then sees slice statistics). On wasm the 4 GiB heap holds one
     * 256² image of the reference model per pass. Default: the whole batch.
     */
    microBatch: boundedInt(4096, 'images per pass').optional(),
    /** AdamW learning rate. Default: 0.005 · batchSize / 16 (the paper's scaling). */
    lr: positiveNumber().optional(),
    /** AdamW betas. Default: [0.9, 0.999]. */
    betas: z
      .tuple([z.number().gt(0).lt(1), z.number().gt(0).lt(1)], { error: 'expected two numbers in (0, 1)' })
      .default([0.9, 0.999]),
    /** AdamW decoupled weight decay. Default: 1e-4. */
    weightDecay: nonNegativeNumber().default(1e-4),
    /** Gradient-norm clip; null disables it. Default: 5. */
    gradClip: positiveNumber().nullable().default(5),
    /** Rounds at which the learning rate is multiplied by lrGamma, increasing. Default: none. */
    lrMilestones: z.array(positiveInt()).default([]),
    /** Learning-rate factor at each milestone. Default: 0.1. */
    lrGamma: unitFraction().default(0.1),
    /** Seeds initialisation, noise and shuffling. Default: 0. */
    seed: nonNegativeInt().default(0),
    /** train-shard jobs per round (per model in per-class mode). Default: 1. */
    workers: boundedInt(1024, 'jobs per round').default(1),
    /** At most this many images per shard (data's planShards maxPerShard). Default: one shard per class. */
    maxPerShard: positiveInt().optional(),
    /** A train-shard job checkpoints to the store every this many steps, so a retry resumes. Default: 50. */
    checkpointEverySteps: boundedInt(10_000_000, 'steps').default(50),
  })
  .superRefine((t, ctx) => {
    if ((t.localSteps === undefined) === (t.localEpochs === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: t.localSteps === undefined ? [] : ['localEpochs'],
        message:
          t.localSteps === undefined
            ? 'set one of localSteps or localEpochs (the work each job does per round)'
            : 'set either localSteps or localEpochs, not both',
      });
    }
    t.lrMilestones.forEach((m, i) => {
      if (m >= t.rounds) {
        ctx.addIssue({ code: 'custom', path: ['lrMilestones', i], message: `expected a round below rounds (${t.rounds}), got ${m}` });
      } else if (i > 0 && m <= t.lrMilestones[i - 1]) {
        ctx.addIssue({
          code: 'custom',
          path: ['lrMilestones', i],
          message: `expected milestones in increasing order, got ${m} after ${t.lrMilestones[i - 1]}`,
        });
      }
    });
  })
  .transform((t) => ({ ...t, lr: t.lr ?? (0.005 * t.batchSize) / 16 }));

export const EvaluationSchema = z.strictObject({
  /** Images per inference batch. Default: 8. */
  batchSize: boundedInt(4096, 'images per batch').default(8),
  /** Also evaluate every this many rounds; 0: only after the last round. Default: 0. */
  everyRounds: nonNegativeInt().default(0),
  /** Metrics in the table; mad is the mean of the others. Default: all. */
  metrics: distinct(z.enum(METRIC_NAMES), 'metric').min(1).default([...METRIC_NAMES]),
  /**
   * How the three scale maps combine: `mean`, or `reference` — the public evaluator's sum / 9.
   * Rankings and metrics are the same. Default: mean.
   */
  mapReduction: z.enum(MAP_REDUCTIONS).default('mean'),
  /**
   * Image score from the anomaly map: `max` (the paper's), or `top1%` — the mean of the map's
   * highest 1 % of pixels. Measured equal within 1 point of mean I-AUROC on the quickstart and
   * real-texture sets (docs/results.md), so the paper's stays the default. Default: max.
   */
  imageScore: z.enum(IMAGE_SCORES).default('max'),
  /** Gaussian blur σ of anomaly maps, in pixels; 0 disables it. Default: 4. */
  blurSigma: nonNegativeNumber().default(4),
  /**
   * The anomaly map: `cosine` (the paper's: 1 − cosine similarity of teacher and student
   * features on every scale); `residual-gaussian`: a Gaussian fitted to the student's residuals
   * on normal training images, a location scored by its residual's Mahalanobis distance
   * (settings: residualGaussian); `memory`: a bank of feature vectors sampled from normal
   * training images, a location scored by its distance to the nearest (settings: memory). The
   * fitted maps are made by a fit-map job after training and stored in the weights. Without
   * pretrained weights (docs/results.md) the residual Gaussian lifted the synthetic set's
   * I-AUROC by 7–12 points and left real photographs level; the memory bank lifted held-out
   * real photographs by about 10. Default: cosine.
   */
  anomalyMap: z.enum(ANOMALY_MAPS).default('cosine'),
  residualGaussian: z
    .strictObject({
      /** Feature scales scored (0: stride 4, 1: stride 8, 2: stride 16). Default: [0], measured best. */
      scales: distinct(nonNegativeInt().max(2, { error: 'expected a feature scale 0, 1 or 2' }), 'scale').min(1).default([0]),
      /** Covariance shrinkage toward the mean variance, a fraction. Default: 0.01. */
      shrinkage: unitFraction().default(0.01),
      /** Training images the fit sees at most (a seeded sample of each model's). Default: 512. */
      fitImages: positiveInt().default(512),
    })
    .prefault({}),
  memory: z
    .strictObject({
      /**
       * Per location: `teacher` (the teacher's feature vector) or `teacher+residual` (its
       * direction beside the student's residual). Default: teacher.
       */
      features: z.enum(MEMORY_FEATURES).default('teacher'),
      /**
       * Where the bank reads: `stem` (the teacher's stem, stride 2: with the Gaussian stem, a jet
       * of Gaussian derivatives) or a feature scale (0: stride 4, 1: stride 8, 2: stride 16).
       * Measured without pretrained weights (docs/results.md), `stem` against 0, mean I-AUROC:
       * synthetic 98.3 / 94.5, held-out real 68.0 / 63.7, main real 83.0 / 87.6 (unified); per
       * class, held-out 75.2 / 69.4, main 87.6 / 88.4. With pretrained weights a feature scale is
       * PatchCore's choice. `teacher+residual` needs a feature scale. Default: stem.
       */
      scale: z.union([z.literal('stem'), nonNegativeInt().max(2, { error: 'expected stem or a feature scale 0, 1 or 2' })]).default('stem'),
      /**
       * The model sees the image resized by this factor when the map is fitted and scored (1 or 2),
       * so each stride samples the original twice as finely. Measured (docs/results.md) at scale
       * 0, 2 against 1: +2.1 and +3.4 points of mean I-AUROC on the synthetic and held-out sets,
       * −6.7 on the main real set, at 4× the cost. Default: 1.
       */
      inputScale: z.union([z.literal(1), z.literal(2)], { error: 'expected an input scale of 1 or 2' }).default(1),
      /**
       * A bank per training class in a unified model, each test image scored against the class
       * whose training images it resembles (by the channel mean and spread of its features); on
       * the stem each class's bank also has the stem standardised by that class's statistics.
       * One bank over every class lets a defect find a near neighbour in another class's
       * texture. Measured without pretrained weights (docs/results.md), unified mean I-AUROC
       * with and without: held-out real 75.2 / 68.0, main real 87.7 / 83.0 (one model per class:
       * 75.2 / 87.6). Default: true.
       */
      classBanks: z.boolean().default(true),
      /** Vectors kept (a seeded uniform sample of the fitted locations), per class with classBanks. Default: 16384. */
      bankSize: positiveInt().default(16384),
      /** Training images the fit sees at most (a seeded sample of each model's). Default: 512. */
      fitImages: positiveInt().default(512),
    })
    .refine((m) => !(m.scale === 'stem' && m.features === 'teacher+residual'), {
      error: 'teacher+residual needs a feature scale 0, 1 or 2: the stem has no student counterpart',
      path: ['scale'],
    })
    .prefault({}),
  /** AU-PRO integrates up to this false-positive rate. Default: 0.3. */
  auProMaxFpr: unitFraction().default(0.3),
  /** Also report the reference evaluator's approximate P-F1max and AU-PRO, as named extras. Default: false. */
  approximations: z.boolean().default(false),
  /** Anomaly-map images saved per class. Default: 4. */
  heatmaps: nonNegativeInt().default(4),
  /** Report files written. Default: all of md, csv, json, html. */
  reportFormats: distinct(z.enum(REPORT_FORMATS), 'format').min(1).default([...REPORT_FORMATS]),
});

const STORE_URL_MESSAGE = 'expected file://PATH (e.g. file://./artifacts) or s3://BUCKET/PREFIX';
export const StoreSectionSchema = z.strictObject({
  /** Artifact store URL; `--store` overrides it. Default: file://./artifacts. */
  url: z
    .string({ error: STORE_URL_MESSAGE })
    .regex(/^(file:\/\/.+|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?)$/, { error: STORE_URL_MESSAGE })
    .default(DEFAULT_STORE_URL),
});

const REDIS_URL_MESSAGE =
  'expected redis://[user:password@]host[:port][/db] (rediss://… for TLS) or redis+cluster://[user:password@]host[:port][,host[:port]…] (rediss+cluster://… for TLS)';
const REDIS_PREFIX_MESSAGE = "expected 1-64 letters, digits, '_', '.' or '-', with at most one {hash tag} (e.g. {pmamba}, which a Redis Cluster needs)";
export const RedisSectionSchema = z
  .strictObject({
    /** `--redis` and REDIS_URL override it. Default: a private redis-server started by the CLI. */
    url: z.string({ error: REDIS_URL_MESSAGE }).regex(/^rediss?(\+cluster)?:\/\/\S+$/i, { error: REDIS_URL_MESSAGE }).optional(),
    /**
     * Prefix of every BullMQ key, so several deployments can share one Redis. A Redis Cluster
     * needs it hash-tagged ({pmamba}): then every key of every queue is in the tag's slot.
     * Default: pmamba.
     */
    prefix: z
      .string()
      .regex(/^(?=.{1,64}$)[A-Za-z0-9_.-]*(\{[A-Za-z0-9_.-]+\}[A-Za-z0-9_.-]*)?$/, { error: REDIS_PREFIX_MESSAGE })
      .default(DEFAULT_REDIS_PREFIX),
  })
  .superRefine((r, ctx) => {
    if (r.url !== undefined && hasClusterScheme(r.url) && prefixHashTag(r.prefix) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['prefix'],
        message: `a Redis Cluster (redis.url) needs a hash-tagged prefix: use '{${r.prefix}}' (the workers' --prefix too)`,
      });
    }
  });

/**
 * The model block resolved with @pmamba/model's own schema (preset + overrides) and checked
 * against the image size, so a model that cannot run fails when the config is read — with the
 * field, its line and the sizes that would fit — not after Redis and workers have started.
 */
function checkModel(config: { model: ModelSection; dataset: { imageSize: number } }, ctx: z.RefinementCtx): void {
  const { preset, overrides } = modelSection(config.model);
  const resolved = ModelConfigSchema.safeParse({ ...PRESETS[preset], ...overrides });
  if (!resolved.success) {
    const known = [...Object.keys(ModelConfigSchema.shape), 'preset', 'teacher'];
    for (const issue of resolved.error.issues) {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
        for (const key of issue.keys) {
          const guess = suggestField(key, known);
          ctx.addIssue({ code: 'custom', path: ['model', key], message: guess ? `unknown field (did you mean "${guess}"?)` : `unknown field (known: ${known.join(', ')})` });
        }
      } else {
        ctx.addIssue({ ...issue, path: ['model', ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
      }
    }
    return;
  }
  const size = config.dataset.imageSize;
  if (!Number.isInteger(size) || size % 32 !== 0) return; // dataset.imageSize's own check says so
  try {
    checkImageSize(resolved.data, size);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['dataset', 'imageSize'], message: `${(err as Error).message} (model preset ${preset})` });
  }
}

export const RunConfigSchema = z
  .strictObject({
    /** Config format version. Default: 1. */
    version: z.literal(1).default(1),
    run: RunSectionSchema.prefault({}),
    dataset: DatasetSchema,
    model: ModelSectionSchema.prefault({}),
    training: TrainingSchema,
    evaluation: EvaluationSchema.prefault({}),
    store: StoreSectionSchema.prefault({}),
    redis: RedisSectionSchema.prefault({}),
    sweep: SweepSchema.optional(),
  })
  .superRefine(checkModel);

/** A validated run config, defaults filled in. */
export type RunConfig = z.output<typeof RunConfigSchema>;
/** What a config file may contain (defaults optional). */
export type RunConfigInput = z.input<typeof RunConfigSchema>;
export type DatasetConfig = RunConfig['dataset'];
export type ModelSection = RunConfig['model'];
export type TrainingConfig = RunConfig['training'];
export type EvaluationConfig = RunConfig['evaluation'];
export type TrainingMode = (typeof TRAINING_MODES)[number];
export type ReportFormat = (typeof REPORT_FORMATS)[number];

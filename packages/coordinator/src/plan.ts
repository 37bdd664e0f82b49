/**
 * Planning a run: the config is checked against the model and the dataset (generating the
 * synthetic set first when the config asks for it), every image is decoded once so a corrupt
 * file is named before any job starts, and each class's normal training images are cut into
 * shards — one per train-shard job of the round, so every job sees every class of its model.
 * The result is the run record (runs/<id>/run.json), with the train spec every training job
 * carries (protocol's train-spec.ts) resolved once here.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import {
  SYNTH_CLASSES,
  classMetricProblems,
  evaluationDataOf,
  inspectDataset,
  openDataset,
  planShards,
  synthesize,
  type DataWarning,
  type DatasetIndex,
  type EvaluationData,
} from '@pmamba/data';
import { presetConfig, type ModelConfig, type ModelConfigInput } from '@pmamba/model/spec';
import { layout, modelSection, parseRunRecord, runIdStamp, trainSpecOf, type RunConfig, type RunRecord, type Shard } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';
import { CoordinatorError } from './errors.ts';
import { planTeacher } from './teacher.ts';

export interface PlanOptions {
  /** Folder relative paths in the config are resolved against. Default: process.cwd(). */
  cwd?: string;
  /** The run id; default: config.run.id, else `run-<UTC time>`. */
  runId?: string;
  /** Progress of synthetic-set generation (images written, total). */
  onSynthProgress?: (done: number, total: number) => void;
  /** A skipped file or class (policy `skip`), or a note worth showing. Default: ignored. */
  onWarning?: (warning: DataWarning) => void;
  /** The clock, for the run id and createdAt. */
  now?: () => Date;
  /** Where a pretrained teacher file (`model.teacher.weights`) is copied; required with one. */
  store?: ArtifactStore;
  /** A local copy of `model.teacher.weights` when the config names a URL. */
  teacherWeightsFile?: string;
  /**
   * Datasets already read, checked and fingerprinted by this process (a sweep plans many runs on
   * the same images): keyed by root, format, classes and bad-image policy.
   */
  datasets?: Map<string, Promise<CheckedDataset>>;
}

/** A dataset read, every image decoded once, and its evaluation data fingerprinted. */
export interface CheckedDataset {
  index: DatasetIndex;
  /** Bad files left out under policy `skip`. */
  exclude: Set<string>;
  evaluationData: EvaluationData;
}

/** The model config a run's `model` section describes (preset + overrides); parsing the run config checked it fits the image size. */
export function runModelConfig(config: RunConfig): ModelConfig {
  const { preset, overrides } = modelSection(config.model);
  return presetConfig(preset, overrides as ModelConfigInput);
}

const SYNTH_MANIFEST = 'pmamba-synth.json';

/** Writes the synthetic set at `root` unless an identical one is already there. */
async function ensureSynthetic(root: string, synth: NonNullable<RunConfig['dataset']['synthetic']>, options: PlanOptions): Promise<void> {
  const classes = typeof synth.classes === 'number' ? SYNTH_CLASSES.slice(0, synth.classes).map((c) => c.name) : synth.classes;
  const wanted = { classes, size: synth.size, train: synth.train, test: synth.test, seed: synth.seed };
  try {
    const found = JSON.parse(await readFile(join(root, SYNTH_MANIFEST), 'utf8')) as Record<string, unknown>;
    const same = (Object.keys(wanted) as (keyof typeof wanted)[]).every((k) => JSON.stringify(found[k]) === JSON.stringify(wanted[k]));
    if (same) return;
  } catch {
    // No (readable) manifest: generate; synthesize refuses a folder holding anything else.
  }
  try {
    await synthesize({ out: root, ...wanted, onProgress: options.onSynthProgress });
  } catch (err) {
    throw new CoordinatorError('E_DATASET', `dataset.synthetic: cannot write the synthetic set to ${root}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decodes every image and mask. Under policy `fail` the first bad file stops planning with its
 * path; under `skip` bad training images are left out of the shards (evaluation skips bad test
 * images itself) and each is reported through onWarning.
 */
async function checkImages(index: DatasetIndex, config: RunConfig, options: PlanOptions): Promise<Set<string>> {
  const report = await inspectDataset(index, { verify: true });
  const bad = report.problems.filter((p) => p.path !== undefined && p.code !== 'E_IMAGE_CHANNELS');
  if (bad.length > 0 && config.dataset.badImagePolicy === 'fail') {
    const listed = bad.slice(0, 5).map((p) => `  ${p.message}`).join('\n');
    throw new CoordinatorError(
      'E_DATASET',
      `dataset ${index.root} has ${bad.length} unreadable file(s):\n${listed}${bad.length > 5 ? '\n  …' : ''}\n` +
        'fix or remove them, or set dataset.badImagePolicy: skip to train without them',
    );
  }
  for (const p of bad) options.onWarning?.(p);
  // Classes whose metrics will be n/a (all-black masks, one-sided test sets): said now, not after training.
  for (const w of classMetricProblems(report)) options.onWarning?.(w);
  return new Set(bad.map((p) => p.path!));
}

/** Each class's training images in `workers` near-equal shards (at most maxPerShard each). */
export function planClassShards(index: DatasetIndex, config: RunConfig, exclude: ReadonlySet<string> = new Set()): Shard[] {
  const { workers, maxPerShard, seed } = config.training;
  return index.classes.flatMap((c) => {
    const items = c.train.filter((s) => !exclude.has(s.image)).map((s) => s.id);
    if (items.length === 0) {
      throw new CoordinatorError('E_DATASET', `class '${c.name}' in ${index.root} has no usable training images`);
    }
    const perJob = Math.ceil(items.length / workers);
    return planShards([{ className: c.name, items }], { maxPerShard: Math.min(perJob, maxPerShard ?? perJob), seed });
  });
}

/**
 * Every name from the data that becomes part of a store key goes through the layout now, so a
 * folder name the store cannot take fails here, not at evaluation after training.
 */
function checkStoreNames(index: DatasetIndex, runId: string, perClass: boolean): void {
  for (const c of index.classes) {
    try {
      layout.evalMetricsKey(runId, c.name);
      if (perClass) layout.mergedWeightsKey(runId, 0, c.name);
      for (const s of c.test) layout.heatmapFileName(s.defect, basename(s.image, extname(s.image)));
    } catch (err) {
      const shown = c.name.length > 40 ? `${c.name.slice(0, 40)}…` : c.name;
      throw new CoordinatorError('E_DATASET', `class folder ${JSON.stringify(shown)} in ${index.root}: ${(err as Error).message}; rename it`, { cause: err });
    }
  }
}

function defaultRunId(now: Date): string {
  return `run-${runIdStamp(now)}`;
}

/** Reads the dataset at `root`, decodes every image and mask, and fingerprints its test set. */
async function checkDataset(root: string, config: RunConfig, options: PlanOptions): Promise<CheckedDataset> {
  let index: DatasetIndex;
  try {
    index = await openDataset(root, {
      format: config.dataset.format,
      policy: config.dataset.badImagePolicy,
      onWarning: options.onWarning ?? (() => undefined),
      ...(config.dataset.classes === 'all' ? {} : { classes: config.dataset.classes }),
    });
  } catch (err) {
    throw new CoordinatorError('E_DATASET', `dataset.root ${root}: ${(err as Error).message}`, { cause: err });
  }
  if (index.classes.length === 0) throw new CoordinatorError('E_DATASET', `dataset.root ${root} holds no classes`);
  const exclude = await checkImages(index, config, options);
  return { index, exclude, evaluationData: await evaluationDataOf(index, exclude) };
}

/**
 * Validates a config against the model and its dataset and plans the run. The record's config
 * has the dataset root made absolute (workers may run elsewhere in the tree) and no Redis URL
 * (it may hold a password, and workers bring their own).
 */
export async function planRun(config: RunConfig, options: PlanOptions = {}): Promise<RunRecord> {
  const now = options.now?.() ?? new Date();
  const modelConfig = runModelConfig(config);
  const root = resolve(options.cwd ?? process.cwd(), config.dataset.root);
  if (config.dataset.synthetic) await ensureSynthetic(root, config.dataset.synthetic, options);

  const cacheKey = JSON.stringify([root, config.dataset.format, config.dataset.classes, config.dataset.badImagePolicy]);
  let checked = options.datasets?.get(cacheKey);
  if (!checked) {
    checked = checkDataset(root, config, options);
    options.datasets?.set(cacheKey, checked);
    // A failure is not cached: the next run reads the folder again (it may have been fixed).
    checked.catch(() => options.datasets?.delete(cacheKey));
  }
  const { index, exclude, evaluationData } = await checked;
  const shards = planClassShards(index, config, exclude);
  const classes = index.classes.map((c) => c.name);
  const perClass = config.training.mode === 'per-class';

  const runId = options.runId ?? config.run.id ?? defaultRunId(now);
  layout.runPrefix(runId); // E_STORE_KEY unless the id is one key segment
  checkStoreNames(index, runId, perClass);
  const draft = {
    config,
    plan: {
      mode: config.training.mode,
      classes,
      models: perClass ? classes : [layout.UNIFIED_MODEL],
      shards,
      rounds: config.training.rounds,
      evaluationData,
    },
  };
  const teacher = await planTeacher(config, modelConfig, index, draft, {
    cwd: options.cwd ?? process.cwd(),
    store: options.store,
    weightsFile: options.teacherWeightsFile,
  });
  const record: RunRecord = {
    kind: 'pmamba.run',
    version: 1,
    runId,
    createdAt: now.toISOString(),
    config: {
      ...config,
      run: { ...config.run, id: runId },
      dataset: { ...config.dataset, root: index.root, format: index.format },
      redis: { prefix: config.redis.prefix },
    },
    plan: draft.plan,
    spec: trainSpecOf(config, { model: modelConfig, dataset: { root: index.root, format: index.format, classes, badImagePolicy: config.dataset.badImagePolicy }, teacher }),
    software: { pmamba: '0.1.0', node: process.versions.node },
  };
  return parseRunRecord(record, layout.runRecordKey(runId));
}

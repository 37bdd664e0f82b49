/**
 * The BullMQ flows of a run, built from its record alone (so a restarted coordinator builds
 * the same flows, with the same job ids):
 *   round r of a model:   aggregate(run, r)  ←  train-shard(run, r, shards, weights) × jobs
 *   evaluation after r:   [fit-map(run, r, model) per model, when the anomaly map is fitted]
 *                         report(run, r)     ←  evaluate(run, class, weights) × classes
 */
import type { FlowJob } from 'bullmq';
import { assignShards, createRng, hashSeed } from '@pmamba/data';
import {
  QUEUE_NAMES,
  layout,
  modelSection,
  type AggregatePayload,
  type ArtifactRef,
  type EvaluatePayload,
  type FitMapPayload,
  type FittedMapSettings,
  type ReportPayload,
  type RunRecord,
  type Shard,
  type TrainShardPayload,
} from '@pmamba/protocol';
import { bullIds, shardJobName } from './job-ids.ts';
import { JOB_OPTIONS } from './queues.ts';
import { describeTeacher } from './teacher.ts';

/** One train-shard job of a round: its store name and its shards. */
export interface ShardJob {
  jobId: string;
  shards: Shard[];
}

/** The train-shard jobs of a model, the same every round: its shards spread over `training.workers` jobs. */
export function shardJobs(record: RunRecord, modelIndex: number): ShardJob[] {
  const model = record.plan.models[modelIndex];
  const perClass = record.plan.mode === 'per-class';
  const shards = perClass ? record.plan.shards.filter((s) => s.className === model) : record.plan.shards;
  return assignShards(shards, record.config.training.workers)
    .filter((a) => a.shards.length > 0)
    .map((a) => ({ jobId: shardJobName(perClass, modelIndex, a.worker), shards: a.shards }));
}

/**
 * The training images a model's teacher BatchNorm is calibrated on: a seeded sample of the
 * model's items over the whole plan (not only one job's shards), so every round-0 job of the
 * model computes the same statistics and saves the same initial weights.
 */
export function calibrationItems(record: RunRecord, model: string): string[] {
  return sampleModelItems(record, model, 'teacher-calibration', modelSection(record.config.model).teacher.calibrationImages);
}

/** At most `count` of a model's training items over the whole plan, in an order seeded by the run's seed and `purpose`. */
function sampleModelItems(record: RunRecord, model: string, purpose: string, count: number): string[] {
  const perClass = record.plan.mode === 'per-class';
  const items = record.plan.shards.filter((s) => !perClass || s.className === model).flatMap((s) => s.items);
  return createRng(hashSeed(record.spec.seed, purpose)).shuffle([...items].sort()).slice(0, count);
}

/** The learning rate of round r: lr × gamma per milestone reached. */
export function roundLr(record: RunRecord, round: number): number {
  const t = record.config.training;
  return t.lr * t.lrGamma ** t.lrMilestones.filter((m) => m <= round).length;
}

/**
 * Round `round` of a model (`run`: its run record in the store, which jobs check theirs holds) from `init` (null in round 0: the jobs build the model from the seed,
 * give it the `teacher` weights when there are any, and save it as the initial weights) and
 * `initTrainer`, the previous round's averaged optimiser state (absent in round 0).
 */
export function roundFlow(record: RunRecord, run: ArtifactRef, modelIndex: number, round: number, init: ArtifactRef | null, initTrainer?: ArtifactRef, teacher?: ArtifactRef): FlowJob {
  const { runId } = record;
  const model = record.plan.models[modelIndex];
  const t = record.config.training;
  const jobs = shardJobs(record, modelIndex);
  const children = jobs.map(({ jobId, shards }) => {
    const data: TrainShardPayload = {
      runId,
      round,
      jobId,
      model,
      shards,
      init,
      ...(init === null
        ? {
            initOutputKey: layout.initWeightsKey(runId),
            ...(teacher ? { teacher } : {}),
            ...(record.spec.teacher.batchNorm === 'calibrate' ? { calibration: calibrationItems(record, model) } : {}),
          }
        : {}),
      ...(initTrainer ? { initTrainer } : {}),
      run,
      spec: record.spec,
      trainerOutputKey: layout.jobTrainerKey(runId, round, jobId),
      ...(t.localSteps !== undefined ? { localSteps: t.localSteps } : { localEpochs: t.localEpochs }),
      lr: roundLr(record, round),
      // Each job draws its own batches and noise, the same on every retry.
      seed: hashSeed(t.seed, round, jobId),
      outputKey: layout.jobWeightsKey(runId, round, jobId),
      resultKey: layout.jobResultKey(runId, round, jobId),
      checkpointKey: layout.checkpointWeightsKey(runId, round, jobId),
      checkpointTrainerKey: layout.checkpointTrainerKey(runId, round, jobId),
      checkpointStateKey: layout.checkpointStateKey(runId, round, jobId),
      checkpointEverySteps: t.checkpointEverySteps,
    };
    return {
      name: QUEUE_NAMES.trainShard,
      queueName: QUEUE_NAMES.trainShard,
      data,
      opts: { ...JOB_OPTIONS[QUEUE_NAMES.trainShard], jobId: bullIds.trainShard(runId, round, jobId) },
    };
  });
  const data: AggregatePayload = {
    runId,
    round,
    model,
    jobIds: jobs.map((j) => j.jobId),
    outputKey: layout.mergedWeightsKey(runId, round, model),
    manifestKey: layout.roundManifestKey(runId, round, model),
    trainerOutputKey: layout.mergedTrainerKey(runId, round, model),
    lastRound: round === record.plan.rounds - 1,
  };
  return {
    name: QUEUE_NAMES.aggregate,
    queueName: QUEUE_NAMES.aggregate,
    data,
    opts: { ...JOB_OPTIONS[QUEUE_NAMES.aggregate], jobId: bullIds.aggregate(runId, round, modelIndex) },
    children,
  };
}

/** The fitted map evaluation.anomalyMap asks for, with its settings; undefined for the cosine map (nothing to fit). */
export function fittedMapSettings(record: RunRecord): FittedMapSettings | undefined {
  const e = record.config.evaluation;
  if (e.anomalyMap === 'residual-gaussian') return { kind: 'residual-gaussian', scales: e.residualGaussian.scales, shrinkage: e.residualGaussian.shrinkage };
  if (e.anomalyMap === 'memory') return { kind: 'memory', features: e.memory.features, scale: e.memory.scale, inputScale: e.memory.inputScale, classBanks: e.memory.classBanks, bankSize: e.memory.bankSize };
  return undefined;
}

/**
 * The training images a model's fitted map is fitted on: a seeded sample of at most the map's
 * `fitImages` of the model's items, the same for every evaluated round.
 */
export function fitMapItems(record: RunRecord, model: string): string[] {
  const e = record.config.evaluation;
  return sampleModelItems(record, model, 'fit-map', e.anomalyMap === 'memory' ? e.memory.fitImages : e.residualGaussian.fitImages);
}

/** The fit-map job of model number `modelIndex` for the evaluation after `atRound` rounds, from `weights`. */
export function fitMapFlow(record: RunRecord, run: ArtifactRef, atRound: number, modelIndex: number, weights: ArtifactRef): FlowJob {
  const model = record.plan.models[modelIndex];
  const map = fittedMapSettings(record);
  if (!map) throw new Error(`fitMapFlow: evaluation.anomalyMap ${record.config.evaluation.anomalyMap} has nothing to fit`);
  const data: FitMapPayload = {
    runId: record.runId,
    model,
    weights,
    run,
    items: fitMapItems(record, model),
    map,
    outputKey: layout.fittedWeightsKey(record.runId, model, earlierRound(record, atRound)),
  };
  return { name: QUEUE_NAMES.fitMap, queueName: QUEUE_NAMES.fitMap, data, opts: { ...JOB_OPTIONS[QUEUE_NAMES.fitMap], jobId: bullIds.fitMap(record.runId, atRound, modelIndex) } };
}

/**
 * Where the evaluation after `atRound` rounds goes in the layout: the last round's under the
 * run's standard keys (undefined), an earlier one's apart (the round).
 */
function earlierRound(record: RunRecord, atRound: number): number | undefined {
  return atRound === record.plan.rounds ? undefined : atRound;
}

/**
 * The evaluation of the weights after `atRound` rounds (0: the untrained initial weights):
 * `weights(model)` gives each model's weights at that point.
 */
export function evaluationFlow(record: RunRecord, run: ArtifactRef, atRound: number, weights: (model: string) => ArtifactRef, teacherFile?: ArtifactRef): FlowJob {
  const { runId } = record;
  const perClass = record.plan.mode === 'per-class';
  const earlier = earlierRound(record, atRound);
  const e = record.config.evaluation;
  const children = record.plan.classes.map((className, c) => {
    const model = perClass ? className : layout.UNIFIED_MODEL;
    const data: EvaluatePayload = {
      runId,
      className,
      model,
      weights: weights(model),
      run,
      metricsKey: layout.evalMetricsKey(runId, className, earlier),
      heatmaps: e.heatmaps,
      heatmapsPrefix: layout.heatmapsPrefix(runId, className, earlier),
    };
    return {
      name: QUEUE_NAMES.evaluate,
      queueName: QUEUE_NAMES.evaluate,
      data,
      opts: { ...JOB_OPTIONS[QUEUE_NAMES.evaluate], jobId: bullIds.evaluate(runId, atRound, c) },
    };
  });
  const trained = atRound === 0 ? 'untrained (initial weights)' : `after ${atRound} of ${record.plan.rounds} round(s)`;
  const data: ReportPayload = {
    runId,
    classes: record.plan.classes,
    formats: e.reportFormats,
    metricsKeys: Object.fromEntries(record.plan.classes.map((c) => [c, layout.evalMetricsKey(runId, c, earlier)])),
    reportKeys: Object.fromEntries(e.reportFormats.map((f) => [f, layout.reportKey(runId, f, earlier)])),
    title: `${record.config.run.name ?? runId}: ${trained}`,
    notes: [
      `run ${runId}, ${record.plan.mode} mode, ${record.plan.classes.length} class(es), model preset ${record.config.model.preset}`,
      `weights ${trained}; dataset ${record.config.dataset.root} at ${record.config.dataset.imageSize}²`,
      describeTeacher(record.spec.teacher, record.spec.model.encoder, teacherFile),
    ],
  };
  return {
    name: QUEUE_NAMES.report,
    queueName: QUEUE_NAMES.report,
    data,
    opts: { ...JOB_OPTIONS[QUEUE_NAMES.report], jobId: bullIds.report(runId, atRound) },
    children,
  };
}

/** The rounds after which the weights are evaluated: 0 (untrained), every `everyRounds`, and the last. */
export function evaluationRounds(record: RunRecord): number[] {
  const every = record.config.evaluation.everyRounds;
  const last = record.plan.rounds;
  const out = new Set([0, last]);
  if (every > 0) for (let r = every; r < last; r += every) out.add(r);
  return [...out].sort((a, b) => a - b);
}

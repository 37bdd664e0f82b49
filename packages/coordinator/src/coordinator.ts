/**
 * The coordinator drives a run: it writes the run record and the initial weights, runs each
 * model's rounds as BullMQ flows (train-shard children, aggregate parent), then one evaluation
 * flow per evaluated round (evaluate children, report parent), and finally the run manifest.
 * It also processes the aggregate and report jobs itself: they are light (bytes and tables)
 * and belong to planning, not to the GPU workers.
 *
 * Everything that counts as done lives in the store (round manifests, evaluation records,
 * reports), and every job id is derived from the run record, so `resume` after a crash — even
 * with Redis emptied — re-adds the same flows: what finished is found in the store, what was
 * queued is found in Redis, and a train-shard job picks up its checkpoint.
 */
import { Job, UnrecoverableError, Worker, type FlowJob, type Queue } from 'bullmq';
import {
  JobProgressSchema,
  PayloadError,
  QUEUE_NAMES,
  layout,
  parseJobPayload,
  parseJobResult,
  parseRunManifest,
  parseRunRecord,
  type AggregateResult,
  type ArtifactRef,
  type FittedMapSettings,
  type QueueName,
  type ReportResult,
  type RunManifest,
  type RunRecord,
} from '@pmamba/protocol';
import { describeArtifacts, isStoreError, type ArtifactStore } from '@pmamba/store';
import { aggregateRound, readCompleteRound } from './aggregate.ts';
import { CoordinatorError } from './errors.ts';
import { evaluationFlow, evaluationRounds, fitMapFlow, fittedMapSettings, roundFlow, shardJobs } from './flows.ts';
import { JOB_OPTIONS, openQueues, type QueueTarget, type Queues } from './queues.ts';
import { bullIds } from './job-ids.ts';
import { describeTeacher, teacherPretrainPayload } from './teacher.ts';
import { writeReport } from './report.ts';

/** A job the coordinator is waiting for, as progress bars show it. */
export interface WatchedJob {
  queue: QueueName;
  /** BullMQ job id. */
  id: string;
  /** Short name for people: `round 1 w0`, `evaluate carpet`. */
  label: string;
}

export type CoordinatorEvent =
  /** `jobsPerRound`: the train-shard jobs each round really runs (over all models): at most one per shard. */
  | { type: 'run-started'; record: RunRecord; resumed: boolean; jobsPerRound: number }
  | { type: 'teacher-started'; job: WatchedJob; fingerprint: string }
  | { type: 'teacher-ready'; teacher: ArtifactRef; description: string; fromStore: boolean }
  | { type: 'round-started'; model: string; round: number; rounds: number; jobs: WatchedJob[] }
  | { type: 'round-finished'; model: string; round: number; rounds: number; loss: number; samples: number; fromStore: boolean }
  | { type: 'map-fit-started'; atRound: number; map: FittedMapSettings['kind']; jobs: WatchedJob[] }
  | { type: 'map-fit-finished'; atRound: number; model: string; images: number }
  | { type: 'evaluation-started'; atRound: number; jobs: WatchedJob[] }
  | { type: 'evaluation-finished'; atRound: number; result: ReportResult }
  | {
      type: 'job-progress';
      job: WatchedJob;
      /** BullMQ state: waiting, active, delayed (retry backoff), completed, failed, … */
      state: string;
      done: number;
      total: number;
      unit: 'steps' | 'images' | undefined;
      loss: number | undefined;
      attemptsMade: number;
    }
  | { type: 'no-workers'; queue: QueueName; seconds: number }
  | { type: 'warning'; message: string };

export interface CoordinatorOptions extends QueueTarget {
  store: ArtifactStore;
  /** Receives what happens, for progress bars and logs. */
  onEvent?: (event: CoordinatorEvent) => void;
  /** Milliseconds between looks at the jobs being waited for. Default: 250. */
  pollMs?: number;
  /** Process aggregate and report jobs in this process. Default: true. */
  processJobs?: boolean;
  /** Seconds without any worker on a queue that is waited on before `no-workers` is reported (and again every as many). Default: 10. */
  noWorkerHintS?: number;
}

/** Where one model's training stands: `round` rounds done, ending in these weights (null before round 0). */
interface ModelState {
  round: number;
  weights: ArtifactRef | null;
  trainer: ArtifactRef | undefined;
}

export interface RunOptions {
  /**
   * Called after each evaluation between round 0 and the last (`evaluation.everyRounds`), as
   * soon as its round is trained; resolve false to stop the run there.
   */
  onEvaluated?: (atRound: number, result: ReportResult) => Promise<boolean>;
}

/** What a finished (or stopped) run produced. */
export interface RunOutcome {
  runId: string;
  /** Final weights per model (a stopped run: those of the round it stopped at). */
  models: Record<string, ArtifactRef>;
  /** Which teacher the models were trained with (describeTeacher). */
  teacher: string;
  /** The benchmark table of every evaluated round (0 = untrained), in round order. */
  evaluations: { atRound: number; result: ReportResult }[];
  /** The run manifest; absent when `onEvaluated` stopped the run. */
  manifest?: RunManifest;
  /** The evaluated round after which `onEvaluated` stopped the run. */
  stoppedAt?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A payload the schema rejects can never succeed: fail it without retries. */
function permanent<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof PayloadError) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/** Reads a run's record from the store; E_RUN_NOT_FOUND names the store. */
export async function loadRun(store: ArtifactStore, runId: string): Promise<RunRecord> {
  const key = layout.runRecordKey(runId);
  try {
    return await store.getJson(key, (v) => parseRunRecord(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) {
      throw new CoordinatorError('E_RUN_NOT_FOUND', `no run ${runId} in ${store.url} (no ${key}); check --store and the run id`);
    }
    throw err;
  }
}

export class Coordinator {
  private readonly queues: Queues;
  private readonly workers: Worker[] = [];
  private readonly pollMs: number;
  private closed = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.queues = openQueues(options);
    this.pollMs = options.pollMs ?? 250;
    if (options.processJobs ?? true) {
      const base = { connection: options.connection, prefix: options.prefix, concurrency: 4 };
      const store = options.store;
      this.workers.push(
        new Worker(QUEUE_NAMES.aggregate, async (job) => aggregateRound(store, permanent(() => parseJobPayload('aggregate', job.data, job.id))), base),
        new Worker(QUEUE_NAMES.report, async (job) => writeReport(store, permanent(() => parseJobPayload('report', job.data, job.id))), base),
      );
      for (const w of this.workers) w.on('error', () => undefined);
    }
  }

  private emit(event: CoordinatorEvent): void {
    this.options.onEvent?.(event);
  }

  get store(): ArtifactStore {
    return this.options.store;
  }

  /** Writes a new run's record; E_RUN_EXISTS if the store already holds that run. */
  async createRun(record: RunRecord): Promise<void> {
    const key = layout.runRecordKey(record.runId);
    if (await this.store.exists(key)) {
      throw new CoordinatorError(
        'E_RUN_EXISTS',
        `run ${record.runId} already exists in ${this.store.url} (${key}); continue it with \`pmamba train --resume ${record.runId}\`, or choose another run.id (--run-id)`,
      );
    }
    await this.store.putJson(key, record);
  }

  /** Reads a run's record; E_RUN_NOT_FOUND names the store. */
  loadRun(runId: string): Promise<RunRecord> {
    return loadRun(this.store, runId);
  }

  /**
   * Trains the rounds not yet complete, evaluates, reports and writes the run manifest. With
   * `onEvaluated`, each evaluation between round 0 and the last runs as soon as its round is
   * trained, and the hook decides whether training goes on (a sweep's early stopping): a run it
   * stops returns `stoppedAt` and the evaluations so far, and gets no run manifest.
   */
  async run(record: RunRecord, resumed = false, options: RunOptions = {}): Promise<RunOutcome> {
    const jobsPerRound = record.plan.models.reduce((n, _, m) => n + shardJobs(record, m).length, 0);
    this.emit({ type: 'run-started', record, resumed, jobsPerRound });
    const run = await this.runRecordRef(record);
    const teacher = await this.ensureTeacher(record, run);
    const rounds = record.plan.rounds;
    // Without a hook one segment: every model trains all its rounds without waiting for the others.
    const stops = options.onEvaluated ? evaluationRounds(record).filter((r) => r > 0 && r < rounds) : [];
    let states: ModelState[] = record.plan.models.map(() => ({ round: 0, weights: null, trainer: undefined }));
    const early: { atRound: number; result: ReportResult }[] = [];
    for (const until of [...stops, rounds]) {
      states = await Promise.all(states.map((state, k) => this.trainModel(record, run, k, teacher, state, until)));
      if (until === rounds) break;
      const trained = Object.fromEntries(record.plan.models.map((m, k) => [m, states[k].weights!]));
      const { result, weights } = await this.evaluate(record, run, until, trained, teacher);
      early.push({ atRound: until, result });
      if (!(await options.onEvaluated!(until, result))) {
        const described = describeTeacher(record.spec.teacher, record.spec.model.encoder, teacher);
        return { runId: record.runId, models: weights, teacher: described, evaluations: early, stoppedAt: until };
      }
    }
    const trained = Object.fromEntries(record.plan.models.map((m, k) => [m, states[k].weights!]));
    const init = await this.initialWeights(record);

    const weightsAfter = async (r: number): Promise<Record<string, ArtifactRef>> => {
      if (r === 0) return Object.fromEntries(record.plan.models.map((m) => [m, init]));
      if (r === record.plan.rounds) return trained;
      const entries = await Promise.all(
        record.plan.models.map(async (m) => {
          const manifest = await readCompleteRound(this.store, layout.roundManifestKey(record.runId, r - 1, m));
          if (!manifest) throw new CoordinatorError('E_JOB_FAILED', `round ${r - 1} of ${m} has no manifest although later rounds finished`);
          return [m, manifest.weights] as const;
        }),
      );
      return Object.fromEntries(entries);
    };
    let models = trained;
    const rest = await Promise.all(
      evaluationRounds(record)
        .filter((r) => !early.some((e) => e.atRound === r))
        .map(async (atRound) => {
          const { result, weights } = await this.evaluate(record, run, atRound, await weightsAfter(atRound), teacher);
          // The final models are what the last evaluation scored: with a fitted map, the weights that carry it.
          if (atRound === record.plan.rounds) models = weights;
          return { atRound, result };
        }),
    );
    const evaluations = [...early, ...rest].sort((a, b) => a.atRound - b.atRound);
    const manifest = await this.writeRunManifest(record, models, evaluations.at(-1)!.result);
    const described = describeTeacher(record.spec.teacher, record.spec.model.encoder, teacher);
    return { runId: record.runId, models, teacher: described, evaluations, manifest };
  }

  /** Continues a run from what the store holds. */
  async resume(runId: string): Promise<RunOutcome> {
    return this.run(await this.loadRun(runId), true);
  }

  /** The run record as the store holds it: jobs check their worker's store has these very bytes. */
  private async runRecordRef(record: RunRecord): Promise<ArtifactRef> {
    const key = layout.runRecordKey(record.runId);
    const found = await this.store.head(key);
    if (!found?.sha256) throw new CoordinatorError('E_RUN_NOT_FOUND', `run ${record.runId} has no record at ${key} in ${this.store.url}`);
    return { key, sha256: found.sha256, size: found.size };
  }

  /** The seed-initialised weights round 0's jobs saved. */
  private async initialWeights(record: RunRecord): Promise<ArtifactRef> {
    const key = layout.initWeightsKey(record.runId);
    const found = await this.store.head(key);
    if (!found?.sha256) throw new CoordinatorError('E_JOB_FAILED', `round 0 finished but left no initial weights at ${key} in ${this.store.url}`);
    return { key, sha256: found.sha256, size: found.size };
  }

  /**
   * The teacher weights round 0 starts from: the run's pretrained file, or its self-made teacher
   * — from the store when a run with the same fingerprint made it, else made now by a
   * teacher-pretrain job. Undefined: the seed's random teacher.
   */
  private async ensureTeacher(record: RunRecord, run: ArtifactRef): Promise<ArtifactRef | undefined> {
    const ref = record.spec.teacher;
    const encoder = record.spec.model.encoder;
    if (!ref || ref.source === 'random') return undefined;
    if (ref.source === 'weights') {
      const found = await this.store.head(ref.file.key);
      if (found?.sha256 !== ref.file.sha256) {
        throw new CoordinatorError('E_JOB_FAILED', `the run's teacher file ${ref.file.key} is missing from ${this.store.url} or was replaced; plan the run again`);
      }
      this.emit({ type: 'teacher-ready', teacher: ref.file, description: describeTeacher(ref, encoder), fromStore: true });
      return ref.file;
    }
    const payload = teacherPretrainPayload(record, run, ref);
    const made = await this.storedTeacher(payload.recordKey);
    if (made) {
      this.emit({ type: 'teacher-ready', teacher: made, description: describeTeacher(ref, encoder, made), fromStore: true });
      return made;
    }
    const id = bullIds.teacherPretrain(ref.fingerprint);
    const queue = this.queues.byName[QUEUE_NAMES.teacherPretrain];
    // A finished job whose teacher is gone from the store (deleted, another store) must run again.
    const old = await Job.fromId(queue, id);
    if (old && (await old.getState()) === 'completed') await old.remove();
    const job: WatchedJob = { queue: QUEUE_NAMES.teacherPretrain, id, label: 'teacher pretraining' };
    this.emit({ type: 'teacher-started', job, fingerprint: ref.fingerprint });
    const flow: FlowJob = {
      name: QUEUE_NAMES.teacherPretrain,
      queueName: QUEUE_NAMES.teacherPretrain,
      data: payload,
      opts: { ...JOB_OPTIONS[QUEUE_NAMES.teacherPretrain], jobId: id },
    };
    const result = parseJobResult('teacher-pretrain', await this.runFlow(flow, [job]), id);
    const stored = await this.storedTeacher(payload.recordKey);
    if (!stored || stored.sha256 !== result.teacher.sha256) {
      throw new CoordinatorError('E_JOB_FAILED', `teacher pretraining finished but ${payload.outputKey} is not in ${this.store.url}`);
    }
    this.emit({ type: 'teacher-ready', teacher: stored, description: describeTeacher(ref, encoder, stored), fromStore: false });
    return stored;
  }

  /** A self-made teacher's weights, when its record and the bytes it names are in the store. */
  private async storedTeacher(recordKey: string): Promise<ArtifactRef | undefined> {
    try {
      const made = await this.store.getJson(recordKey, (v) => parseJobResult('teacher-pretrain', v, recordKey));
      const found = await this.store.head(made.teacher.key);
      return found?.sha256 === made.teacher.sha256 ? made.teacher : undefined;
    } catch (err) {
      if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /** Trains one model from `from` (rounds before it are done) up to round `until` (exclusive). */
  private async trainModel(record: RunRecord, run: ArtifactRef, modelIndex: number, teacher: ArtifactRef | undefined, from: ModelState, until: number): Promise<ModelState> {
    const model = record.plan.models[modelIndex];
    const rounds = record.plan.rounds;
    let { weights, trainer } = from;
    for (let round = from.round; round < until; round++) {
      const done = await readCompleteRound(this.store, layout.roundManifestKey(record.runId, round, model));
      if (done) {
        weights = done.weights;
        trainer = done.trainer;
        this.emit({ type: 'round-finished', model, round, rounds, loss: done.loss, samples: done.samples, fromStore: true });
        continue;
      }
      const flow = roundFlow(record, run, modelIndex, round, weights, trainer, teacher);
      const jobs = (flow.children ?? []).map((c) => ({
        queue: QUEUE_NAMES.trainShard,
        id: c.opts!.jobId!,
        label: `${record.plan.mode === 'per-class' ? `${model} ` : ''}round ${round + 1}/${rounds} ${(c.data as { jobId: string }).jobId}`,
      }));
      this.emit({ type: 'round-started', model, round, rounds, jobs });
      const result: AggregateResult = parseJobResult('aggregate', await this.runFlow(flow, jobs), flow.opts?.jobId);
      weights = result.weights;
      trainer = result.trainer;
      this.emit({ type: 'round-finished', model, round, rounds, loss: result.loss, samples: result.samples, fromStore: false });
    }
    return { round: until, weights, trainer };
  }

  /**
   * Evaluates the weights after `atRound` rounds (per model), first fitting each model's anomaly
   * map when the run's map is fitted; returns the table and the weights that were scored.
   */
  private async evaluate(
    record: RunRecord,
    run: ArtifactRef,
    atRound: number,
    trained: Record<string, ArtifactRef>,
    teacher: ArtifactRef | undefined,
  ): Promise<{ result: ReportResult; weights: Record<string, ArtifactRef> }> {
    const weights = fittedMapSettings(record) ? await this.fitMaps(record, run, atRound, trained) : trained;
    const flow = evaluationFlow(record, run, atRound, (m) => weights[m], teacher);
    const jobs = (flow.children ?? []).map((c, i) => ({
      queue: QUEUE_NAMES.evaluate,
      id: c.opts!.jobId!,
      label: `evaluate ${atRound === 0 ? 'untrained' : `round ${atRound}`} ${record.plan.classes[i]}`,
    }));
    this.emit({ type: 'evaluation-started', atRound, jobs });
    const result = parseJobResult('report', await this.runFlow(flow, jobs), flow.opts?.jobId);
    this.emit({ type: 'evaluation-finished', atRound, result });
    return { result, weights };
  }

  /** Runs a fit-map job per model (all at once) and returns the weights carrying the fitted maps. */
  private async fitMaps(record: RunRecord, run: ArtifactRef, atRound: number, trained: Record<string, ArtifactRef>): Promise<Record<string, ArtifactRef>> {
    const flows = record.plan.models.map((m, k) => fitMapFlow(record, run, atRound, k, trained[m]));
    const jobs = flows.map((f, k) => ({
      queue: QUEUE_NAMES.fitMap,
      id: f.opts!.jobId!,
      label: `fit map ${atRound === 0 ? 'untrained' : `round ${atRound}`}${record.plan.mode === 'per-class' ? ` ${record.plan.models[k]}` : ''}`,
    }));
    this.emit({ type: 'map-fit-started', atRound, map: fittedMapSettings(record)!.kind, jobs });
    const fitted = await Promise.all(
      flows.map(async (flow, k) => {
        const result = parseJobResult('fit-map', await this.runFlow(flow, [jobs[k]]), flow.opts?.jobId);
        const found = await this.store.head(result.weights.key);
        if (found?.sha256 !== result.weights.sha256) {
          throw new CoordinatorError('E_JOB_FAILED', `${jobs[k].label} finished but ${result.weights.key} is not in ${this.store.url} as it reported`);
        }
        this.emit({ type: 'map-fit-finished', atRound, model: result.model, images: result.images });
        return [record.plan.models[k], result.weights] as const;
      }),
    );
    return Object.fromEntries(fitted);
  }

  /**
   * Adds a flow (again: the ids make that idempotent) and waits for its parent, reporting the
   * children's progress. A flow left failed by an earlier attempt is removed first, so a resume
   * retries it; a flow that vanished from Redis (a restarted server) is added again.
   */
  private async runFlow(flow: FlowJob, children: WatchedJob[]): Promise<unknown> {
    const parentQueue = this.queues.byName[flow.queueName as QueueName];
    const parentId = flow.opts!.jobId!;
    await this.clearFailed(parentQueue, parentId);
    await this.queues.flows.add(flow);
    const idleSince = new Map<QueueName, number>();
    let lastError: unknown;
    let errors = 0;
    for (;;) {
      if (this.closed) throw new CoordinatorError('E_STOPPED', `the coordinator was closed while waiting for ${parentId}`);
      try {
        const parent = await Job.fromId(parentQueue, parentId);
        if (!parent) {
          this.emit({ type: 'warning', message: `job ${parentId} is no longer in Redis; adding its flow again` });
          await this.queues.flows.add(flow);
        } else {
          const state = await parent.getState();
          // Read the job again: it may have finished between the two calls above.
          if (state === 'completed') return (await Job.fromId(parentQueue, parentId))?.returnvalue;
          if (state === 'failed') throw await this.failure(parent, children);
          await this.reportChildren(children);
          await this.hintIfNoWorkers(children, idleSince);
        }
        errors = 0;
      } catch (err) {
        if (err instanceof CoordinatorError) throw err;
        // Redis or the network hiccuped: ioredis reconnects; keep waiting, say so once.
        if (errors++ === 0) this.emit({ type: 'warning', message: `lost touch with Redis (${(err as Error).message}); retrying` });
        lastError = err;
        if (errors > 2400) throw new CoordinatorError('E_STOPPED', `Redis unreachable for too long: ${(lastError as Error).message}`, { cause: lastError });
      }
      await sleep(this.pollMs);
    }
  }

  private async clearFailed(queue: Queue, id: string): Promise<void> {
    const job = await Job.fromId(queue, id);
    if (!job || (await job.getState()) !== 'failed') return;
    try {
      await job.remove({ removeChildren: true });
    } catch (err) {
      throw new CoordinatorError(
        'E_JOB_FAILED',
        `job ${id} failed earlier and cannot be cleared yet (${(err as Error).message}); wait for its running children to end and resume again`,
        { cause: err },
      );
    }
    this.emit({ type: 'warning', message: `job ${id} had failed; running it again` });
  }

  private async reportChildren(children: WatchedJob[]): Promise<void> {
    await Promise.all(
      children.map(async (job) => {
        const found = await Job.fromId(this.queues.byName[job.queue], job.id);
        if (!found) return;
        const state = await found.getState();
        const progress = JobProgressSchema.safeParse(found.progress);
        const p = progress.success ? progress.data : undefined;
        const complete = state === 'completed';
        this.emit({
          type: 'job-progress',
          job,
          state,
          done: p ? (complete ? p.total : p.done) : complete ? 1 : 0,
          total: p?.total ?? 1,
          unit: p?.unit,
          loss: p?.loss,
          attemptsMade: found.attemptsMade,
        });
      }),
    );
  }

  private async hintIfNoWorkers(children: WatchedJob[], idleSince: Map<QueueName, number>): Promise<void> {
    const every = (this.options.noWorkerHintS ?? 10) * 1000;
    for (const queue of new Set(children.map((c) => c.queue))) {
      const count = await this.queues.byName[queue].getWorkersCount();
      if (count > 0) {
        idleSince.delete(queue);
        continue;
      }
      const since = idleSince.get(queue) ?? Date.now();
      idleSince.set(queue, since);
      const waited = Date.now() - since;
      if (waited >= every) {
        this.emit({ type: 'no-workers', queue, seconds: Math.round(waited / 1000) });
        idleSince.set(queue, Date.now());
      }
    }
  }

  /** The clearest story of a failed flow: the failed child's reason, else the parent's. */
  private async failure(parent: Job, children: WatchedJob[]): Promise<CoordinatorError> {
    for (const child of children) {
      const job = await Job.fromId(this.queues.byName[child.queue], child.id);
      if (job && (await job.getState()) === 'failed') {
        return new CoordinatorError(
          'E_JOB_FAILED',
          `${child.label} (${child.queue} job ${child.id}) failed after ${job.attemptsMade} attempt(s): ${job.failedReason}`,
        );
      }
    }
    return new CoordinatorError('E_JOB_FAILED', `${parent.queueName} job ${parent.id} failed after ${parent.attemptsMade} attempt(s): ${parent.failedReason}`);
  }

  private async writeRunManifest(record: RunRecord, models: Record<string, ArtifactRef>, final: ReportResult): Promise<RunManifest> {
    const described = await describeArtifacts(this.store, record.plan.classes.map((c) => layout.evalMetricsKey(record.runId, c)));
    const manifest = parseRunManifest({
      kind: 'pmamba.run-manifest',
      version: 1,
      runId: record.runId,
      rounds: record.plan.rounds,
      models,
      evaluation: Object.fromEntries(record.plan.classes.map((c, i) => [c, described[i]])),
      report: final.artifacts,
      table: final.table,
      createdAt: new Date().toISOString(),
    });
    await this.store.putJson(layout.runManifestKey(record.runId), manifest);
    return manifest;
  }

  /** Stops waiting, stops processing aggregate/report jobs (finishing any in hand) and closes connections. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await this.queues.close();
  }
}

/**
 * The scheduler (`pmamba scheduler`, one per deployment): it mirrors the store's schedules into
 * BullMQ job schedulers, takes their firing jobs, and for each firing plans a run from the
 * schedule's config, drives it through a Coordinator (train + evaluate on the workers of the
 * same Redis and store), registers it as the next version of the schedule's model and records
 * what happened in the store.
 *
 * A firing job only says "due at T": it is handled in moments (admitted, queued or skipped and
 * recorded) and the run goes on in this process, in the schedule's lane — one run at a time per
 * schedule, in firing order. Overlap policy, when a firing comes while the lane's run goes:
 * `skip` records it as skipped; `queue` records it as queued and runs it when the current run
 * ends — one at most: a further firing while one waits is skipped, so a run longer than the
 * interval cannot pile up a backlog.
 *
 * Restarts: a firing's run id comes from its due time, and its record says how far it got, so a
 * scheduler started again resumes unfinished firings (running ones first, queued ones behind
 * them) from the store — their runs continue where the store says, even against an emptied
 * Redis. A firing job delivered twice (a retry, a stalled job) finds its record and does nothing.
 */
import { Worker, type Job, type Queue } from 'bullmq';
import {
  SCHEDULE_QUEUE,
  layout,
  parseFiringPayload,
  parseRunManifest,
  runIdStamp,
  scheduleRunId,
  type FiringOutcome,
  type FiringPayload,
  type RunConfig,
  type RunRecord,
  type Schedule,
  type ScheduleFiring,
} from '@pmamba/protocol';
import { isRegistryError, listVersions, readChampion, registerRun, type Registration } from '@pmamba/registry';
import type { ArtifactStore } from '@pmamba/store';
import { Coordinator, loadRun, type CoordinatorEvent } from './coordinator.ts';
import { planRun } from './plan.ts';
import type { QueueTarget } from './queues.ts';
import { openScheduleQueue, syncSchedules, unscheduleSchedule, type SyncResult } from './schedule-queue.ts';
import { findSchedule, listFirings, listSchedules, readFiring, unfinishedFirings, writeFiring } from './schedule-store.ts';

export type SchedulerEvent =
  /** Redis was made to match the store (at start, and whenever a resync changed something). */
  | ({ type: 'synced'; schedules: number; active: number } & SyncResult)
  /** A firing record was written: queued, running, registered, skipped or failed. */
  | { type: 'firing'; firing: ScheduleFiring; resumed: boolean }
  /** What the coordinator reports of a firing's run (rounds, evaluations, missing workers). */
  | { type: 'run'; schedule: string; runId: string; event: CoordinatorEvent }
  | { type: 'warning'; message: string };

export interface SchedulerOptions extends QueueTarget {
  store: ArtifactStore;
  onEvent?: (event: SchedulerEvent) => void;
  /** Milliseconds between re-reads of the store's schedules into Redis (changes made without Redis, a Redis that lost them). Default: 60 000. */
  resyncMs?: number;
  /** A local copy of `model.teacher.weights` when a config names a URL (the CLI downloads it). */
  teacherWeightsFile?: (config: RunConfig) => Promise<string | undefined>;
  /** Passed to each run's Coordinator. */
  pollMs?: number;
  noWorkerHintS?: number;
}

/** The runs of one schedule: `pending[0]` is going (or about to), the rest wait for it. */
interface Lane {
  pending: ScheduleFiring[];
  tail: Promise<void>;
}

/** The time a firing job was due: BullMQ's job schedulers name it in the job. */
function dueTime(job: Job<FiringPayload>): Date {
  const fromId = /:(\d+)$/.exec(job.id ?? '')?.[1];
  const millis = job.opts.prevMillis ?? (fromId !== undefined ? Number(fromId) : job.timestamp);
  return new Date(millis);
}

function describeError(err: unknown): { error: string; code?: string } {
  const code = (err as { code?: unknown })?.code;
  const message = (err instanceof Error ? err.message : String(err)).trim() || 'unknown error';
  return { error: message.slice(0, 4000), ...(typeof code === 'string' && code ? { code } : {}) };
}

export class Scheduler {
  private readonly queue: Queue<FiringPayload>;
  private readonly lanes = new Map<string, Lane>();
  /** Registrations, one at a time per model name (the registry numbers versions from a listing). */
  private readonly registering = new Map<string, Promise<unknown>>();
  private readonly coordinators = new Set<Coordinator>();
  /** Firing jobs are admitted one at a time, so two firings of a schedule never both find its lane idle. */
  private admissions: Promise<unknown> = Promise.resolve();
  private worker: Worker<FiringPayload> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(private readonly options: SchedulerOptions) {
    this.queue = openScheduleQueue(options);
  }

  private get store(): ArtifactStore {
    return this.options.store;
  }

  private emit(event: SchedulerEvent): void {
    this.options.onEvent?.(event);
  }

  /** Puts the store's schedules into Redis, resumes unfinished firings, and starts taking firing jobs. */
  async start(): Promise<void> {
    await this.sync(true);
    for (const schedule of await listSchedules(this.store)) {
      for (const firing of await unfinishedFirings(this.store, schedule.name)) this.enqueue(firing, true);
    }
    this.worker = new Worker<FiringPayload>(SCHEDULE_QUEUE, (job) => this.onJob(job), {
      connection: this.options.connection,
      prefix: this.options.prefix,
      concurrency: 4,
    });
    this.worker.on('error', (err) => this.emit({ type: 'warning', message: `schedule queue: ${err.message}` }));
    this.worker.on('failed', (job, err) => this.emit({ type: 'warning', message: `firing job ${job?.id ?? '?'} failed: ${err.message}` }));
    await this.worker.waitUntilReady();
    const every = this.options.resyncMs ?? 60_000;
    this.timer = setInterval(() => {
      this.sync(false).catch((err: Error) => this.emit({ type: 'warning', message: `resync from ${this.store.url} failed: ${err.message}` }));
    }, every);
  }

  /** Makes Redis hold exactly the store's active schedules. */
  async sync(always = false): Promise<SyncResult> {
    const schedules = await listSchedules(this.store);
    const result = await syncSchedules(this.queue, schedules, async (name) => (await listFirings(this.store, name, 1))[0]);
    if (always || result.upserted.length > 0 || result.removed.length > 0) {
      this.emit({ type: 'synced', schedules: schedules.length, active: schedules.filter((s) => !s.paused).length, ...result });
    }
    return result;
  }

  private async onJob(job: Job<FiringPayload>): Promise<string> {
    const { schedule } = parseFiringPayload(job.data, job.id);
    const admitted = this.admissions.then(() => this.admit(schedule, dueTime(job)));
    this.admissions = admitted.catch(() => undefined);
    return admitted;
  }

  private lane(name: string): Lane {
    let lane = this.lanes.get(name);
    if (!lane) this.lanes.set(name, (lane = { pending: [], tail: Promise.resolve() }));
    return lane;
  }

  private async record(firing: ScheduleFiring, outcome: FiringOutcome, resumed = false): Promise<ScheduleFiring> {
    const written = await writeFiring(this.store, { ...firing, updatedAt: new Date().toISOString(), outcome });
    this.emit({ type: 'firing', firing: written, resumed });
    return written;
  }

  /** Decides what a firing due at `firedAt` does; returns it in words (the firing job's result). */
  private async admit(name: string, firedAt: Date): Promise<string> {
    if (this.closing) throw new Error('the scheduler is stopping; the firing is taken again when it restarts');
    const schedule = await findSchedule(this.store, name);
    if (!schedule || schedule.paused) {
      // Redis still held it: a pause or removal that did not reach Redis. Put Redis right.
      await unscheduleSchedule(this.queue, name);
      const why = schedule ? 'is paused' : `is no longer in ${this.store.url}`;
      this.emit({ type: 'warning', message: `schedule ${name} fired but ${why}; removed its job scheduler from Redis` });
      return `ignored: schedule ${why}`;
    }
    const stamp = runIdStamp(firedAt);
    const runId = scheduleRunId(name, firedAt);
    const lane = this.lane(name);
    if (lane.pending.some((f) => f.stamp === stamp) || (await readFiring(this.store, name, stamp))) return `firing ${stamp} already handled`;
    const firing: ScheduleFiring = {
      kind: 'pmamba.schedule-firing',
      version: 1,
      schedule: name,
      stamp,
      firedAt: firedAt.toISOString(),
      runId,
      updatedAt: new Date().toISOString(),
      outcome: { status: 'running' },
    };
    const going = lane.pending[0];
    if (going) {
      if (schedule.overlap === 'skip') {
        await this.record(firing, { status: 'skipped', reason: `run ${going.runId} of this schedule was still going (overlap: skip)` });
        return 'skipped';
      }
      if (lane.pending.length > 1) {
        const reason = `firing ${lane.pending[1].stamp} was already queued behind run ${going.runId} (overlap: queue holds one)`;
        await this.record(firing, { status: 'skipped', reason });
        return 'skipped';
      }
      this.enqueue(await this.record(firing, { status: 'queued', behind: going.runId }), false);
      return `queued behind ${going.runId}`;
    }
    this.enqueue(firing, false);
    return `running ${runId}`;
  }

  /** Appends a firing to its schedule's lane: it runs when the ones before it have ended. */
  private enqueue(firing: ScheduleFiring, resumed: boolean): void {
    const lane = this.lane(firing.schedule);
    lane.pending.push(firing);
    lane.tail = lane.tail
      .then(() => this.runFiring(firing, resumed))
      .catch((err: Error) => this.emit({ type: 'warning', message: `firing ${firing.schedule}/${firing.stamp}: ${err.message}` }))
      .finally(() => {
        lane.pending.splice(lane.pending.indexOf(firing), 1);
      });
  }

  /** Trains, evaluates and registers a firing's run, recording each step; a stop leaves the record for the next start. */
  private async runFiring(admitted: ScheduleFiring, resumed: boolean): Promise<void> {
    if (this.closing) return; // still queued or running in the store: the next start takes it up
    const schedule = await findSchedule(this.store, admitted.schedule);
    if (!schedule || (schedule.paused && admitted.outcome.status === 'queued')) {
      const why = schedule ? 'paused' : 'removed';
      const reason = `the schedule was ${why} before this firing's run started`;
      if (!schedule && (await this.store.exists(layout.runRecordKey(admitted.runId)))) {
        await this.record(admitted, { status: 'failed', error: `the schedule was removed before run ${admitted.runId} finished; the run stays in the store (pmamba train --resume ${admitted.runId})` });
      } else {
        await this.record(admitted, { status: 'skipped', reason });
      }
      return;
    }
    // Resumed, for people: a run that had started (a queued firing taken up again starts now).
    const firing = await this.record(admitted, { status: 'running' }, resumed && admitted.outcome.status === 'running');
    const coordinator = new Coordinator({
      connection: this.options.connection,
      prefix: this.options.prefix,
      store: this.store,
      pollMs: this.options.pollMs,
      noWorkerHintS: this.options.noWorkerHintS,
      onEvent: (event) => this.emit({ type: 'run', schedule: schedule.name, runId: firing.runId, event }),
    });
    this.coordinators.add(coordinator);
    try {
      // A run that finished before a restart cut its firing short is not trained again.
      if (!(await this.store.exists(layout.runManifestKey(firing.runId)))) {
        const { record, existed } = await this.runRecord(schedule, firing.runId, coordinator);
        await coordinator.run(record, existed);
      }
      const registration = await this.register(schedule, firing, resumed);
      const manifestKey = layout.runManifestKey(firing.runId);
      const manifest = await this.store.getJson(manifestKey, (v) => parseRunManifest(v, manifestKey));
      await this.record(firing, { status: 'registered', model: schedule.model, ...registration, mad: manifest.table?.mean.mad ?? null });
    } catch (err) {
      if (this.closing) return; // interrupted: the next start resumes the run
      await this.record(firing, { status: 'failed', ...describeError(err) });
    } finally {
      this.coordinators.delete(coordinator);
      await coordinator.close();
    }
  }

  /** The firing's run record: the one in the store (a resumed firing), else planned now from the schedule's config. */
  private async runRecord(schedule: Schedule, runId: string, coordinator: Coordinator): Promise<{ record: RunRecord; existed: boolean }> {
    if (await this.store.exists(layout.runRecordKey(runId))) return { record: await loadRun(this.store, runId), existed: true };
    const teacherWeightsFile = await this.options.teacherWeightsFile?.(schedule.config);
    const record = await planRun(schedule.config, {
      runId,
      store: this.store,
      teacherWeightsFile,
      onWarning: (w) => this.emit({ type: 'warning', message: `${runId}: [${w.code}] ${w.message}` }),
    });
    await coordinator.createRun(record);
    return { record, existed: false };
  }

  /** Registers the run (once: a resumed firing whose run was registered before the restart finds that version). */
  private async register(schedule: Schedule, firing: ScheduleFiring, resumed: boolean): Promise<Registration> {
    const model = schedule.model;
    const before = this.registering.get(model) ?? Promise.resolve();
    const mine = before.then(async (): Promise<Registration> => {
      if (resumed) {
        const earlier = await this.registeredVersion(model, firing.runId);
        if (earlier) return earlier;
      }
      return registerRun(this.store, model, firing.runId, { note: `schedule ${schedule.name}, firing due ${firing.firedAt}` });
    });
    this.registering.set(model, mine.catch(() => undefined));
    return mine;
  }

  private async registeredVersion(model: string, runId: string): Promise<Registration | undefined> {
    try {
      const version = (await listVersions(this.store, model)).find((v) => v.sourceRun === runId);
      if (!version) return undefined;
      const champion = (await readChampion(this.store, model))?.champion ?? null;
      return { version: version.number, promoted: version.gate.promoted, reason: version.gate.reason, champion };
    } catch (err) {
      if (isRegistryError(err, 'E_MODEL_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /**
   * Stops: no more firing jobs are taken, running runs stop (their workers hand jobs back) and
   * their firings stay recorded as running or queued — the next start resumes them.
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.worker?.close();
    await Promise.allSettled([...this.coordinators].map((c) => c.close()));
    await Promise.allSettled([...this.lanes.values()].map((l) => l.tail));
    await this.queue.close();
  }
}

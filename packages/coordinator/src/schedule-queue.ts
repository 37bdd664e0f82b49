/**
 * Schedules in Redis: one BullMQ job scheduler per active schedule (its id is the schedule's
 * name) on SCHEDULE_QUEUE, adding one firing job each time it is due. Redis only mirrors the
 * store: `syncSchedules` makes it match, so a scheduler started against an emptied Redis puts
 * every schedule back.
 */
import { Queue, defaultRepeatStrategy, type JobSchedulerTemplateOptions, type RepeatOptions } from 'bullmq';
import { SCHEDULE_QUEUE, isTimeZone, type FiringPayload, type Schedule, type ScheduleFiring, type ScheduleTiming } from '@pmamba/protocol';
import { checkQueueTarget, type QueueTarget } from './queues.ts';
import { ScheduleError } from './errors.ts';

const DAY_S = 24 * 3600;

/** Firing jobs are short (the run goes on in the scheduler, recorded in the store): retried on a store hiccup, kept a while for inspection. */
const FIRING_JOB_OPTIONS: JobSchedulerTemplateOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 7 * DAY_S, count: 1000 },
  removeOnFail: { age: 30 * DAY_S },
};

export function openScheduleQueue(target: QueueTarget): Queue<FiringPayload> {
  checkQueueTarget(target);
  const queue = new Queue<FiringPayload>(SCHEDULE_QUEUE, { connection: target.connection, prefix: target.prefix });
  // Connection errors are retried by ioredis; callers see them as failed commands.
  queue.on('error', () => undefined);
  return queue;
}

/** Checks a timing the way BullMQ will use it: E_SCHEDULE_TIMING for a time zone or pattern cron-parser rejects. */
export function checkTiming(timing: ScheduleTiming, now = Date.now()): void {
  if ('every' in timing) return;
  if (timing.tz !== undefined && !isTimeZone(timing.tz)) throw new ScheduleError('E_SCHEDULE_TIMING', `--tz ${JSON.stringify(timing.tz)} is not an IANA time zone (e.g. Europe/Rome, America/New_York, UTC)`);
  const usage = 'expected 5 fields, minute hour day month weekday, e.g. "0 3 * * 1"; or 6 with seconds first';
  const fields = timing.cron.trim().split(/\s+/).length;
  // cron-parser fills in missing fields silently: "0 3 * *" would not mean what it seems to.
  if (!timing.cron.trim().startsWith('@') && fields !== 5 && fields !== 6) {
    throw new ScheduleError('E_SCHEDULE_TIMING', `--cron ${JSON.stringify(timing.cron)} has ${fields} field(s): ${usage}`);
  }
  let next: number | undefined;
  try {
    next = defaultRepeatStrategy(now, { pattern: timing.cron, tz: timing.tz });
  } catch (err) {
    throw new ScheduleError('E_SCHEDULE_TIMING', `--cron ${JSON.stringify(timing.cron)}: ${(err as Error).message} (${usage})`);
  }
  if (next === undefined) throw new ScheduleError('E_SCHEDULE_TIMING', `--cron ${JSON.stringify(timing.cron)} never fires`);
}

/**
 * BullMQ's repeat options. An interval continues from the schedule's last firing when Redis
 * lost its scheduler (startDate only applies to a scheduler Redis does not hold yet), so a
 * restart neither fires early nor waits a whole interval; a new schedule fires at once.
 */
function repeatOptions(timing: ScheduleTiming, lastFiredAt: Date | undefined, now: number): Omit<RepeatOptions, 'key'> {
  if ('cron' in timing) return { pattern: timing.cron, ...(timing.tz ? { tz: timing.tz } : {}) };
  const due = lastFiredAt ? lastFiredAt.getTime() + timing.every : now;
  return { every: timing.every, ...(due > now ? { startDate: due } : {}) };
}

/** Creates or updates the schedule's job scheduler (an unchanged one keeps its next firing). */
export async function upsertSchedule(queue: Queue<FiringPayload>, schedule: Schedule, lastFiredAt?: Date, now = Date.now()): Promise<void> {
  await queue.upsertJobScheduler(schedule.name, repeatOptions(schedule.timing, lastFiredAt, now), {
    name: 'fire',
    data: { schedule: schedule.name },
    opts: FIRING_JOB_OPTIONS,
  });
}

/** Removes the schedule's job scheduler (and its pending firing); absent is fine. */
export async function unscheduleSchedule(queue: Queue<FiringPayload>, name: string): Promise<void> {
  await queue.removeJobScheduler(name);
}

/** When the schedule fires next, as Redis holds it; undefined when Redis holds no scheduler for it. */
export async function nextFiring(queue: Queue<FiringPayload>, name: string): Promise<Date | undefined> {
  const found = await queue.getJobScheduler(name);
  return found?.next !== undefined ? new Date(Number(found.next)) : undefined;
}

function sameTiming(timing: ScheduleTiming, held: { pattern?: string | null; every?: number | string | null; tz?: string | null }): boolean {
  if ('every' in timing) return Number(held.every) === timing.every && !held.pattern;
  return held.pattern === timing.cron && (held.tz ?? undefined) === timing.tz && !held.every;
}

export interface SyncResult {
  /** Schedules Redis did not hold (or held with other timing), upserted now. */
  upserted: string[];
  /** Job schedulers Redis held for paused or deleted schedules, removed now. */
  removed: string[];
}

/**
 * Makes Redis hold exactly the store's active schedules: missing or changed ones are upserted,
 * ones paused or gone from the store removed; schedulers already right are left alone (their
 * next firing stays). `lastFiring` gives an interval its cadence back after Redis lost it.
 */
export async function syncSchedules(
  queue: Queue<FiringPayload>,
  schedules: readonly Schedule[],
  lastFiring: (name: string) => Promise<ScheduleFiring | undefined>,
): Promise<SyncResult> {
  const held = new Map((await queue.getJobSchedulers(0, -1)).map((s) => [s.key, s]));
  const result: SyncResult = { upserted: [], removed: [] };
  for (const s of schedules) {
    if (s.paused) continue;
    const h = held.get(s.name);
    if (h && sameTiming(s.timing, h)) continue;
    const last = await lastFiring(s.name);
    await upsertSchedule(queue, s, last ? new Date(last.firedAt) : undefined);
    result.upserted.push(s.name);
  }
  const active = new Set(schedules.filter((s) => !s.paused).map((s) => s.name));
  for (const key of held.keys()) {
    if (active.has(key)) continue;
    await unscheduleSchedule(queue, key);
    result.removed.push(key);
  }
  return result;
}

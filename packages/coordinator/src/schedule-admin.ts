/**
 * What `pmamba schedule add|list|pause|resume|remove` do: write the store (the schedules' home),
 * then — given a Redis — bring BullMQ's job scheduler in line at once, so a running scheduler
 * sees the change. Without a Redis, the scheduler's next resync (or start) does it.
 */
import type { Queue } from 'bullmq';
import { parseSchedule, type FiringPayload, type RunConfig, type Schedule, type ScheduleFiring, type ScheduleOverlap, type ScheduleTiming } from '@pmamba/protocol';
import type { ArtifactStore } from '@pmamba/store';
import type { QueueTarget } from './queues.ts';
import { ScheduleError } from './errors.ts';
import { checkTiming, nextFiring, openScheduleQueue, unscheduleSchedule, upsertSchedule } from './schedule-queue.ts';
import { deleteSchedule, findSchedule, listFirings, listSchedules, loadSchedule, saveSchedule } from './schedule-store.ts';

export interface NewSchedule {
  name: string;
  /** The validated run config (overrides applied, paths absolute). */
  config: RunConfig;
  /** The file it came from, for people. */
  source?: string;
  timing: ScheduleTiming;
  /** The registered model its runs become versions of. Default: the schedule's name. */
  model?: string;
  /** Default: skip. */
  overlap?: ScheduleOverlap;
  now?: () => Date;
}

async function withQueue<T>(target: QueueTarget | undefined, fn: (queue: Queue<FiringPayload> | undefined) => Promise<T>): Promise<T> {
  if (!target) return fn(undefined);
  const queue = openScheduleQueue(target);
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

async function lastFiredAt(store: ArtifactStore, name: string): Promise<Date | undefined> {
  const last = (await listFirings(store, name, 1))[0];
  return last ? new Date(last.firedAt) : undefined;
}

/** Adds a schedule; E_SCHEDULE_EXISTS when the store holds one of that name, E_SCHEDULE_TIMING for a pattern BullMQ cannot use. */
export async function addSchedule(store: ArtifactStore, target: QueueTarget | undefined, input: NewSchedule): Promise<Schedule> {
  checkTiming(input.timing);
  const now = (input.now?.() ?? new Date()).toISOString();
  const { url: _url, ...redis } = input.config.redis; // a Redis URL may hold a password; the scheduler brings its own
  const schedule = parseSchedule({
    kind: 'pmamba.schedule',
    version: 1,
    name: input.name,
    timing: input.timing,
    config: { ...input.config, redis },
    ...(input.source ? { source: input.source } : {}),
    model: input.model ?? input.name,
    overlap: input.overlap ?? 'skip',
    paused: false,
    createdAt: now,
    updatedAt: now,
  });
  if (await findSchedule(store, schedule.name)) {
    throw new ScheduleError('E_SCHEDULE_EXISTS', `schedule ${schedule.name} already exists in ${store.url}; remove it first (pmamba schedule remove ${schedule.name}) or choose another name`);
  }
  await saveSchedule(store, schedule);
  await withQueue(target, async (queue) => queue && upsertSchedule(queue, schedule, await lastFiredAt(store, schedule.name)));
  return schedule;
}

/** Pauses (kept in the store, removed from BullMQ) or resumes a schedule; doing it twice is harmless. */
export async function setSchedulePaused(store: ArtifactStore, target: QueueTarget | undefined, name: string, paused: boolean, now: () => Date = () => new Date()): Promise<Schedule> {
  const found = await loadSchedule(store, name);
  const schedule = found.paused === paused ? found : { ...found, paused, updatedAt: now().toISOString() };
  if (schedule !== found) await saveSchedule(store, schedule);
  await withQueue(target, async (queue) => {
    if (!queue) return;
    if (paused) await unscheduleSchedule(queue, name);
    // An interval picks up its cadence from the last firing (or fires now if that is overdue).
    else await upsertSchedule(queue, schedule, await lastFiredAt(store, name));
  });
  return schedule;
}

/** Removes a schedule from the store and from BullMQ; its firing records, runs and model versions stay. */
export async function removeSchedule(store: ArtifactStore, target: QueueTarget | undefined, name: string): Promise<Schedule> {
  const schedule = await loadSchedule(store, name);
  await deleteSchedule(store, name);
  await withQueue(target, async (queue) => queue && unscheduleSchedule(queue, name));
  return schedule;
}

export interface ScheduleSummary {
  schedule: Schedule;
  /** Its newest firing record. */
  last?: ScheduleFiring;
  /** When it fires next, as Redis holds it (only with a Redis). */
  next?: Date;
}

/** Every schedule with its newest firing (and next firing time, given a Redis). */
export async function describeSchedules(store: ArtifactStore, target: QueueTarget | undefined): Promise<ScheduleSummary[]> {
  const schedules = await listSchedules(store);
  return withQueue(target, (queue) =>
    Promise.all(
      schedules.map(async (schedule) => {
        const last = (await listFirings(store, schedule.name, 1))[0];
        const next = queue && !schedule.paused ? await nextFiring(queue, schedule.name) : undefined;
        return { schedule, ...(last ? { last } : {}), ...(next ? { next } : {}) };
      }),
    ),
  );
}

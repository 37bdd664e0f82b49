/**
 * Schedules and their firing records in the artifact store — the schedules' home: Redis only
 * mirrors them (schedule-queue.ts), so they outlive a Redis that lost everything.
 */
import { FINAL_FIRING_STATUSES, ID_PATTERN, layout, parseSchedule, parseScheduleFiring, type Schedule, type ScheduleFiring } from '@pmamba/protocol';
import { isStoreError, type ArtifactStore } from '@pmamba/store';
import { ScheduleError } from './errors.ts';

/** A schedule's record, or undefined when the store holds none of that name. */
export async function findSchedule(store: ArtifactStore, name: string): Promise<Schedule | undefined> {
  const key = layout.scheduleKey(name);
  try {
    return await store.getJson(key, (v) => parseSchedule(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** A schedule's record; E_SCHEDULE_NOT_FOUND names the store. */
export async function loadSchedule(store: ArtifactStore, name: string): Promise<Schedule> {
  const found = await findSchedule(store, name);
  if (!found) throw new ScheduleError('E_SCHEDULE_NOT_FOUND', `no schedule ${name} in ${store.url} (no ${layout.scheduleKey(name)}); \`pmamba schedule list\` shows them, check --store`);
  return found;
}

export async function saveSchedule(store: ArtifactStore, schedule: Schedule): Promise<void> {
  const key = layout.scheduleKey(schedule.name);
  await store.putJson(key, parseSchedule(schedule, key));
}

/** Deletes the schedule's record; its firing records stay, as its runs and model versions do. */
export async function deleteSchedule(store: ArtifactStore, name: string): Promise<void> {
  await store.delete(layout.scheduleKey(name));
}

/** Every schedule in the store, by name. */
export async function listSchedules(store: ArtifactStore): Promise<Schedule[]> {
  const prefix = layout.SCHEDULES_PREFIX;
  const keys = new Set((await store.list(prefix)).map((o) => o.key));
  const names = new Set([...keys].map((k) => k.slice(prefix.length).split('/')[0]));
  // Built back through layout, so only keys layout itself would build count.
  const found = await Promise.all([...names].filter((n) => ID_PATTERN.test(n) && keys.has(layout.scheduleKey(n))).map((n) => findSchedule(store, n)));
  return found.filter((s): s is Schedule => s !== undefined).sort((a, b) => a.name.localeCompare(b.name));
}

export async function writeFiring(store: ArtifactStore, firing: ScheduleFiring): Promise<ScheduleFiring> {
  const key = layout.scheduleFiringKey(firing.schedule, firing.stamp);
  const checked = parseScheduleFiring(firing, key);
  await store.putJson(key, checked);
  return checked;
}

export async function readFiring(store: ArtifactStore, name: string, stamp: string): Promise<ScheduleFiring | undefined> {
  const key = layout.scheduleFiringKey(name, stamp);
  try {
    return await store.getJson(key, (v) => parseScheduleFiring(v, key));
  } catch (err) {
    if (isStoreError(err, 'E_NOT_FOUND')) return undefined;
    throw err;
  }
}

/** The stamps of a schedule's firing records, oldest first (stamps sort by time). */
export async function firingStamps(store: ArtifactStore, name: string): Promise<string[]> {
  const prefix = layout.scheduleFiringsPrefix(name);
  return (await store.list(prefix))
    .map((o) => /^([^/]+)\.json$/.exec(o.key.slice(prefix.length))?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** A schedule's firing records, oldest first; `last` keeps only the newest ones. */
export async function listFirings(store: ArtifactStore, name: string, last?: number): Promise<ScheduleFiring[]> {
  const stamps = await firingStamps(store, name);
  const wanted = last === undefined ? stamps : stamps.slice(-last);
  const found = await Promise.all(wanted.map((s) => readFiring(store, name, s)));
  return found.filter((f): f is ScheduleFiring => f !== undefined);
}

/**
 * The firings not finished yet (running, or queued behind one), oldest first. A schedule's runs
 * go one after another in stamp order, so reading back from the newest stops at the first run
 * that ended: everything older ended before it.
 */
export async function unfinishedFirings(store: ArtifactStore, name: string): Promise<ScheduleFiring[]> {
  const stamps = await firingStamps(store, name);
  const open: ScheduleFiring[] = [];
  for (const stamp of stamps.reverse()) {
    const f = await readFiring(store, name, stamp);
    if (!f) continue;
    if (f.outcome.status === 'registered' || f.outcome.status === 'failed') break;
    if (!FINAL_FIRING_STATUSES.includes(f.outcome.status)) open.push(f);
  }
  return open.reverse();
}

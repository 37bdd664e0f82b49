// Schedules without Redis or workers: the timing vocabulary, the stored records' schemas, the
// store side of add/pause/resume/remove, and which firings a restarted scheduler takes up again.
// (The scheduler itself, with Redis and real training, is tested in test/schedule-*.test.ts.)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { describeTiming, formatEvery, layout, loadRunConfig, parseEvery, parseRunConfig, parseSchedule, scheduleRunId, type RunConfig, type ScheduleFiring } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { addSchedule, describeSchedules, removeSchedule, setSchedulePaused } from '../src/schedule-admin.ts';
import { checkTiming } from '../src/schedule-queue.ts';
import { listFirings, listSchedules, unfinishedFirings, writeFiring } from '../src/schedule-store.ts';

let dir: string;
let store: ArtifactStore;

const config = (): RunConfig =>
  parseRunConfig({
    dataset: { root: '/data/line-3', imageSize: 32 },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } },
    training: { rounds: 1, localSteps: 1 },
    redis: { url: 'redis://:secret@host:6379', prefix: 'line3' },
  });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-schedule-'));
  store = await openStore(`file://${dir}/store`);
});
after(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('schedule timing', () => {
  it('reads intervals as people write them, and writes them back the same way', () => {
    assert.equal(parseEvery('6h'), 6 * 3600_000);
    assert.equal(parseEvery('1h30m'), 5400_000);
    assert.equal(parseEvery(' 90s '), 90_000);
    assert.equal(parseEvery('1d'), 86_400_000);
    assert.equal(parseEvery('250ms'), 250);
    for (const bad of ['', '6', 'h', '6 hours', '1h-30m', '0s', 'every 6h']) assert.equal(parseEvery(bad), undefined, bad);
    assert.equal(formatEvery(5400_000), '1h30m');
    assert.equal(formatEvery(3_000), '3s');
    assert.equal(describeTiming({ every: 6 * 3600_000 }), 'every 6h');
    assert.equal(describeTiming({ cron: '0 3 * * 1', tz: 'Europe/Rome' }), 'cron "0 3 * * 1" (Europe/Rome)');
  });

  it('checks cron patterns the way BullMQ will read them', () => {
    checkTiming({ cron: '0 3 * * 1', tz: 'Europe/Rome' });
    checkTiming({ cron: '*/5 * * * * *' });
    assert.throws(() => checkTiming({ cron: '0 3 * *' }), { code: 'E_SCHEDULE_TIMING' });
    assert.throws(() => checkTiming({ cron: '61 * * * *' }), { code: 'E_SCHEDULE_TIMING' });
  });

  it('names a firing\'s run after the schedule and the UTC time it was due', () => {
    assert.equal(scheduleRunId('nightly', new Date('2026-03-02T03:00:00+01:00')), 'nightly-20260302-020000');
  });
});

describe('schedule records', () => {
  const valid = () => ({
    kind: 'pmamba.schedule',
    version: 1,
    name: 'nightly',
    timing: { cron: '0 3 * * 1', tz: 'Europe/Rome' },
    config: config(),
    model: 'nightly',
    overlap: 'skip',
    paused: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  });

  it('configs/retrain-nightly.yaml is a config a schedule can keep', async () => {
    const nightly = await loadRunConfig(fileURLToPath(new URL('../../../configs/retrain-nightly.yaml', import.meta.url)));
    assert.equal(nightly.run.id, undefined, 'each firing names its own run');
    assert.equal(parseSchedule({ ...valid(), config: nightly }).config.training.seed, 7);
  });

  it('accepts a schedule and refuses what BullMQ or the layout could not use', () => {
    parseSchedule(valid());
    const refused: [string, object][] = [
      ['tz', { timing: { cron: '0 3 * * 1', tz: 'Mars/Olympus' } }],
      ['every', { timing: { every: 10 } }],
      ['name', { name: 'x'.repeat(101) }],
      ['name', { name: 'nightly.v2' }],
      ['overlap', { overlap: 'replace' }],
      ['sweep', { config: { ...config(), sweep: { grid: { 'training.seed': [1, 2] } } } }],
    ];
    for (const [what, patch] of refused) assert.throws(() => parseSchedule({ ...valid(), ...patch }), { code: 'E_MANIFEST_INVALID' }, what);
  });
});

describe('schedules in the store (no Redis)', () => {
  it('adds, lists, pauses, resumes and removes, keeping no Redis URL', async () => {
    const added = await addSchedule(store, undefined, { name: 'nightly', config: config(), timing: { every: 6 * 3600_000 } });
    assert.equal(added.model, 'nightly', 'the model defaults to the schedule name');
    assert.equal(added.overlap, 'skip');
    assert.deepEqual(added.config.redis, { prefix: 'line3' }, 'a Redis URL may hold a password: not stored');
    assert.ok(await store.exists(layout.scheduleKey('nightly')));
    await assert.rejects(addSchedule(store, undefined, { name: 'nightly', config: config(), timing: { every: 1000 } }), { code: 'E_SCHEDULE_EXISTS' });
    await assert.rejects(addSchedule(store, undefined, { name: 'weekly', config: config(), timing: { cron: 'mondays' } }), { code: 'E_SCHEDULE_TIMING' });
    await addSchedule(store, undefined, { name: 'weekly', config: config(), timing: { cron: '0 3 * * 1' }, model: 'line3', overlap: 'queue' });

    assert.deepEqual((await listSchedules(store)).map((s) => s.name), ['nightly', 'weekly']);
    assert.equal((await setSchedulePaused(store, undefined, 'weekly', true)).paused, true);
    assert.equal((await setSchedulePaused(store, undefined, 'weekly', true)).paused, true, 'pausing twice is harmless');
    const listed = await describeSchedules(store, undefined);
    assert.deepEqual(listed.map((s) => [s.schedule.name, s.schedule.paused, s.schedule.model, s.schedule.overlap]), [
      ['nightly', false, 'nightly', 'skip'],
      ['weekly', true, 'line3', 'queue'],
    ]);
    assert.equal((await setSchedulePaused(store, undefined, 'weekly', false)).paused, false);

    await removeSchedule(store, undefined, 'weekly');
    assert.deepEqual((await listSchedules(store)).map((s) => s.name), ['nightly']);
    await assert.rejects(removeSchedule(store, undefined, 'weekly'), { code: 'E_SCHEDULE_NOT_FOUND' });
    await assert.rejects(setSchedulePaused(store, undefined, 'nope', true), { code: 'E_SCHEDULE_NOT_FOUND' });
  });

  it('takes up after a restart only the firings whose run has not ended', async () => {
    const firing = (minute: number, outcome: ScheduleFiring['outcome']): ScheduleFiring => {
      const firedAt = new Date(Date.UTC(2026, 0, 1, 3, minute));
      return {
        kind: 'pmamba.schedule-firing',
        version: 1,
        schedule: 'restart',
        stamp: scheduleRunId('restart', firedAt).slice('restart-'.length),
        firedAt: firedAt.toISOString(),
        runId: scheduleRunId('restart', firedAt),
        updatedAt: firedAt.toISOString(),
        outcome,
      };
    };
    const registered = { status: 'registered', model: 'restart', version: 1, promoted: true, reason: 'first champion', champion: 1 } as const;
    await writeFiring(store, firing(0, { status: 'failed', error: 'boom' }));
    await writeFiring(store, firing(1, { status: 'running' })); // older than a run that ended: not taken up
    await writeFiring(store, firing(2, registered));
    await writeFiring(store, firing(3, { status: 'running' }));
    await writeFiring(store, firing(4, { status: 'skipped', reason: 'run restart-20260101-030300 of this schedule was still going (overlap: skip)' }));
    await writeFiring(store, firing(5, { status: 'queued', behind: 'restart-20260101-030300' }));
    await writeFiring(store, firing(6, { status: 'skipped', reason: 'queue holds one' }));
    assert.deepEqual((await unfinishedFirings(store, 'restart')).map((f) => [f.stamp, f.outcome.status]), [
      ['20260101-030300', 'running'],
      ['20260101-030500', 'queued'],
    ]);
    assert.deepEqual((await listFirings(store, 'restart', 2)).map((f) => f.stamp), ['20260101-030500', '20260101-030600']);
    await assert.rejects(writeFiring(store, { ...firing(7, { status: 'running' }), stamp: 'bad.stamp' }), { code: 'E_STORE_KEY' });
  });
});

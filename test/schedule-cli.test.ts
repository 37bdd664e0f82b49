// `pmamba schedule …` and `pmamba scheduler` as a user runs them (spawned processes), against
// Redis (REDIS_URL or 127.0.0.1:6379, under prefixes of their own) and a store in a temporary
// folder: add, list, pause, resume and remove keep the store and BullMQ's job schedulers in
// step; and a scheduler restarted against a Redis that lost every key puts its schedules back
// from the store, resumes the firing whose run was cut short and fires again.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { listFirings } from '@pmamba/coordinator';
import { SCHEDULE_QUEUE, layout, parseSchedule, type ScheduleFiring } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { testRedis, type TestRedis } from './support/redis.ts';
import { CLI, ROOT, tinyConfig } from './support/tiny-run.ts';
import { waitFor } from './support/wait-for.ts';

const verbs = testRedis('schedule-cli');
const restart = testRedis('schedule-restart');
let dir: string;
let storeUrl: string;
let store: ArtifactStore;
/** The restart test's own store: the scheduler runs every schedule a store holds. */
let restartUrl: string;
let restartStore: ArtifactStore;
let configFile: string;
const queues: Queue[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-schedule-cli-'));
  storeUrl = `file://${join(dir, 'store')}`;
  store = await openStore(storeUrl);
  restartUrl = `file://${join(dir, 'store-restart')}`;
  restartStore = await openStore(restartUrl);
  // The cheapest real run: random teacher (no pretraining), one round of two 2-step jobs.
  const config = tinyConfig(join(dir, 'data'), storeUrl, { model: { teacher: { init: 'random' } }, training: { rounds: 1 } });
  configFile = join(dir, 'tiny.yaml');
  await writeFile(configFile, JSON.stringify(config, null, 2)); // JSON is YAML
});

after(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await store?.close();
  await restartStore?.close();
  await verbs.clear();
  await restart.clear();
  await rm(dir, { recursive: true, force: true });
});

function scheduleQueue(redis: TestRedis): Queue {
  const q = new Queue(SCHEDULE_QUEUE, { connection: redis.connection, prefix: redis.prefix });
  queues.push(q);
  return q;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `pmamba ARGS` to its end. */
function pmamba(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const on = (redis: TestRedis, url = storeUrl) => ['--store', url, '--redis', redis.url, '--prefix', redis.prefix];

async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await pmamba(args, env);
  assert.equal(r.code, 0, `pmamba ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], pattern: RegExp): Promise<void> {
  const r = await pmamba(args);
  assert.equal(r.code, 1, `pmamba ${args.join(' ')} should fail`);
  assert.match(r.stderr, pattern);
}

/** The weekday and time a date is in a time zone: `Mon 03:00`. */
function localTime(date: Date, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return f.format(date).replace(',', '');
}

describe('pmamba schedule add|list|pause|resume|remove', () => {
  it('keeps the store and BullMQ job schedulers in step, and lists what it holds', async () => {
    const queue = scheduleQueue(verbs);
    const added = await ok(['schedule', 'add', 'weekly', '-c', configFile, '--cron', '0 3 * * 1', '--tz', 'Europe/Rome', '--model', 'line3', ...on(verbs)]);
    assert.equal(added, `schedule weekly added to ${storeUrl}: cron "0 3 * * 1" (Europe/Rome), model line3, overlap skip\n`);
    const weekly = await queue.getJobScheduler('weekly');
    assert.equal(weekly?.pattern, '0 3 * * 1');
    assert.equal(weekly?.tz, 'Europe/Rome');
    assert.equal(localTime(new Date(Number(weekly!.next)), 'Europe/Rome'), 'Mon 03:00');

    await ok(['schedule', 'add', 'hourly', '-c', configFile, '--every', '1h', '--overlap', 'queue', '--data', 'elsewhere/line-4', ...on(verbs)]);
    assert.equal(Number((await queue.getJobScheduler('hourly'))?.every), 3600_000);
    const stored = await store.getJson(layout.scheduleKey('hourly'), parseSchedule);
    assert.deepEqual([stored.overlap, stored.model, stored.paused, stored.source], ['queue', 'hourly', false, configFile]);
    assert.equal(stored.config.dataset.root, join(ROOT, 'elsewhere/line-4'), '--data applied and made absolute');

    const table = await ok(['schedule', 'list', ...on(verbs)]);
    const lines = table.trim().split('\n');
    assert.equal(lines[0], '| schedule | state | timing | overlap | model | next firing | last firing |');
    assert.match(lines[2], /^\| hourly \| active \| every 1h \| queue \| hourly \| \d{4}-\d\d-\d\dT[\d:.]+Z \| — \|$/);
    assert.match(lines[3], /^\| weekly \| active \| cron "0 3 \* \* 1" \(Europe\/Rome\) \| skip \| line3 \| \d{4}-\d\d-\d\dT\d\d:00:00\.000Z \| — \|$/);

    assert.equal(await ok(['schedule', 'pause', 'weekly', ...on(verbs)]), 'schedule weekly paused\n');
    assert.equal(await queue.getJobScheduler('weekly'), undefined, 'a paused schedule is not in BullMQ');
    assert.equal((await store.getJson(layout.scheduleKey('weekly'), parseSchedule)).paused, true, 'but stays in the store');
    const json = JSON.parse(await ok(['schedule', 'list', '--json', ...on(verbs)])) as { name: string; paused: boolean; nextFiring: string | null; lastFiring: unknown }[];
    assert.deepEqual(json.map((s) => [s.name, s.paused, s.nextFiring === null, s.lastFiring]), [
      ['hourly', false, false, null],
      ['weekly', true, true, null],
    ]);

    assert.equal(await ok(['schedule', 'resume', 'weekly', ...on(verbs)]), 'schedule weekly resumed\n');
    assert.equal((await queue.getJobScheduler('weekly'))?.pattern, '0 3 * * 1');

    assert.equal(await ok(['schedule', 'remove', 'hourly', ...on(verbs)]), 'schedule hourly removed\n');
    assert.equal(await queue.getJobScheduler('hourly'), undefined);
    assert.equal(await store.exists(layout.scheduleKey('hourly')), false);
    assert.match(await ok(['schedule', 'list', ...on(verbs)]), /^\| schedule[^\n]*\n[^\n]*\n\| weekly \| active [^\n]*\n$/);
  });

  it('refuses what it cannot schedule, naming the option', async () => {
    const add = (name: string, ...timing: string[]) => ['schedule', 'add', name, '-c', configFile, ...timing, ...on(verbs)];
    await fails(add('weekly', '--every', '1d'), /schedule weekly already exists .*\[E_SCHEDULE_EXISTS\]/);
    await fails(add('x', '--cron', '0 3 * *'), /--cron "0 3 \* \*" has 4 field\(s\).*\[E_SCHEDULE_TIMING\]/);
    await fails(add('x', '--cron', '0 3 * * 1', '--tz', 'Mars/Olympus'), /--tz "Mars\/Olympus" is not an IANA time zone.*\[E_SCHEDULE_TIMING\]/);
    await fails(add('x', '--cron', '0 3 * * 1', '--every', '1h'), /give either --cron "PATTERN" or --every INTERVAL \[E_BAD_OPTION\]/);
    await fails(add('x', '--every', 'soon'), /--every "soon": expected an interval such as 30s.*\[E_BAD_OPTION\]/);
    await fails(add('x', '--every', '100ms'), /expected an interval of at least 1000 ms/);
    await fails(add('not.an.id', '--every', '1h'), /expected a schedule name of 1-100 letters/);
    await fails(['schedule', 'pause', 'nope', ...on(verbs)], /no schedule nope in .*\[E_SCHEDULE_NOT_FOUND\]/);
  });

  it('without a Redis only writes the store, and says the scheduler follows at its next resync', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const r = await pmamba(['schedule', 'add', 'offline', '-c', configFile, '--every', '6h', '--store', storeUrl, '--prefix', verbs.prefix], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no Redis given: a running scheduler follows at its next resync/);
    assert.ok(await store.exists(layout.scheduleKey('offline')));
    assert.equal(await scheduleQueue(verbs).getJobScheduler('offline'), undefined);
    await ok(['schedule', 'remove', 'offline', '--store', storeUrl], env);
  });
});

interface SchedulerProcess {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function startScheduler(extra: string[] = []): SchedulerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'scheduler', ...on(restart, restartUrl), '--resync', '1', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  for (const s of [child.stdout, child.stderr]) if (s) createInterface({ input: s }).on('line', (l) => lines.push(l));
  return { child, lines, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function stop(p: SchedulerProcess): Promise<void> {
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([p.exited, new Promise<string>((r) => (timer = setTimeout(() => r('timeout'), 60_000)))]);
  clearTimeout(timer);
  if (code === 'timeout') p.child.kill('SIGKILL');
  assert.equal(code, 0, `the scheduler stops cleanly on SIGTERM:\n${p.lines.slice(-20).join('\n')}`);
}

describe('pmamba scheduler', () => {
  it('restarted against a Redis that lost every key, re-creates its schedules from the store, resumes the cut-short run and fires again', async () => {
    const queue = scheduleQueue(restart);
    await ok(['schedule', 'add', 'again', '-c', configFile, '--every', '3s', '--model', 'again', ...on(restart, restartUrl)]);
    const firings = () => listFirings(restartStore, 'again');

    // No worker: the first firing's run is planned and then waits; the next firing is skipped.
    let scheduler = startScheduler();
    let first: ScheduleFiring;
    try {
      first = await waitFor('the first firing running and one skipped', async () => {
        const [f, ...rest] = await firings();
        return f?.outcome.status === 'running' && rest.some((r) => r.outcome.status === 'skipped') && (await restartStore.exists(layout.runRecordKey(f.runId))) ? f : undefined;
      });
    } finally {
      await stop(scheduler);
    }
    assert.equal((await firings())[0].outcome.status, 'running', 'a stopped scheduler leaves its firing to be resumed');

    await restart.clear();
    assert.deepEqual(await queue.getJobSchedulers(), [], 'Redis lost everything');
    const restartedAt = Date.now();

    // Started again, now with a local worker: the schedule is back in Redis, the run resumes and
    // is registered, and the schedule keeps firing (skipped while that run goes).
    scheduler = startScheduler(['--local-workers', '1', '--backend', 'wasm']);
    try {
      await waitFor('the schedule back in Redis', async () => (await queue.getJobScheduler('again')) ?? undefined, 30_000);
      assert.equal(Number((await queue.getJobScheduler('again'))?.every), 3000);
      const registered = await waitFor('the resumed run registered', async () => {
        const f = (await firings()).find((x) => x.stamp === first.stamp);
        return f?.outcome.status === 'registered' ? f : undefined;
      }, 150_000);
      assert.ok(registered.outcome.status === 'registered');
      assert.deepEqual([registered.outcome.version, registered.outcome.promoted], [1, true]);
      const later = (await firings()).filter((f) => Date.parse(f.firedAt) >= restartedAt);
      assert.ok(later.length >= 1, 'it fired again after the restart');
      assert.ok(later.every((f) => f.outcome.status === 'skipped' || f.outcome.status === 'running' || f.outcome.status === 'registered'));
    } finally {
      await stop(scheduler);
    }
    const log = scheduler.lines.join('\n');
    assert.match(log, /1 schedule\(s\) in the store, 1 active; scheduled in Redis: again/);
    assert.match(log, new RegExp(`again: firing ${first.stamp}: resuming run ${first.runId}`));
    assert.match(log, new RegExp(`again: firing ${first.stamp}: run ${first.runId} \\(mAD [\\d.]+%\\) registered as again v1, promoted: first champion`));
  });
});

// Scheduled retraining against real services: Redis (REDIS_URL or 127.0.0.1:6379, under a prefix
// of its own), a store in a temporary folder, and real tiny training runs on a worker. The
// scheduler fires every 2 s — far shorter than a run — so the overlap policies decide.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Scheduler, addSchedule, listFirings, setSchedulePaused, type SchedulerEvent } from '@pmamba/coordinator';
import { readSafetensors } from '@pmamba/model/spec';
import { layout, parseModelChampion, parseModelVersion, parseRunManifest, parseRunRecord, type ScheduleFiring } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { startWorker, type WorkerHandle } from '@pmamba/worker';
import { testRedis } from './support/redis.ts';
import { CLI, ROOT, tinyConfig } from './support/tiny-run.ts';
import { waitFor as poll } from './support/wait-for.ts';

const cli = (args: string[]) =>
  new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr }))),
  );

const redis = testRedis('schedule-runs');
const target = { connection: redis.connection, prefix: redis.prefix };
let dir: string;
let storeUrl: string;
let store: ArtifactStore;
let worker: WorkerHandle;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-schedule-runs-'));
  storeUrl = `file://${join(dir, 'store')}`;
  store = await openStore(storeUrl);
  worker = await startWorker({ connection: redis.connection, prefix: redis.prefix, storeUrl, backend: 'wasm', concurrency: 2 });
});

after(async () => {
  await worker?.shutdown();
  await store?.close();
  await redis.clear();
  await rm(dir, { recursive: true, force: true });
});

/** The cheapest real run: random teacher (no pretraining), one round of two 2-step jobs. */
const config = () => tinyConfig(join(dir, 'data'), storeUrl, { model: { teacher: { init: 'random' } }, training: { rounds: 1 } });

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 150_000) => poll(what, probe, timeoutMs);

const withStatus = (firings: ScheduleFiring[], status: ScheduleFiring['outcome']['status']) => firings.filter((f) => f.outcome.status === status);

function startScheduler(events: SchedulerEvent[]): Scheduler {
  return new Scheduler({ ...target, store, pollMs: 100, onEvent: (e) => events.push(e) });
}

describe('pmamba scheduler (Redis + store + a worker)', () => {
  it('fires every 2 s with overlap queue: one run at a time, two registered versions, and the gate keeps the first as champion', async () => {
    await addSchedule(store, target, { name: 'retrain', config: config(), timing: { every: 2000 }, overlap: 'queue', model: 'tiny' });
    const events: SchedulerEvent[] = [];
    const scheduler = startScheduler(events);
    let firings: ScheduleFiring[];
    try {
      await scheduler.start();
      firings = await waitFor('two registered firings', async () => {
        const all = await listFirings(store, 'retrain');
        return withStatus(all, 'registered').length >= 2 ? all : undefined;
      });
      await setSchedulePaused(store, target, 'retrain', true);
    } finally {
      await scheduler.close();
    }
    const [first, second] = withStatus(firings, 'registered');
    // The first firing ran at once; the one 2 s later waited for it, and later ones were skipped meanwhile.
    assert.equal(firings[0].stamp, first.stamp);
    assert.equal(first.runId, `retrain-${first.stamp}`);
    assert.equal(firings[1].stamp, second.stamp, 'the queued firing is the next one');
    // Firings while that one waited were skipped: the queue holds one.
    const later = firings.slice(firings.indexOf(second) + 1);
    const next = later.findIndex((f) => f.outcome.status !== 'skipped');
    const whileQueued = next === -1 ? later : later.slice(0, next);
    assert.ok(whileQueued.length >= 1);
    for (const f of whileQueued) {
      assert.deepEqual(f.outcome, { status: 'skipped', reason: `firing ${second.stamp} was already queued behind run ${first.runId} (overlap: queue holds one)` });
    }
    assert.ok(events.some((e) => e.type === 'firing' && e.firing.stamp === second.stamp && e.firing.outcome.status === 'queued' && e.firing.outcome.behind === first.runId));
    const run1 = await store.getJson(layout.runManifestKey(first.runId), parseRunManifest);
    const run2 = await store.getJson(layout.runRecordKey(second.runId), parseRunRecord);
    assert.ok(run2.createdAt >= run1.createdAt, 'the queued run started after the first had finished');

    // Identical config and seed train identical weights: equal mAD, so the second is not better.
    assert.ok(first.outcome.status === 'registered' && second.outcome.status === 'registered');
    assert.deepEqual([first.outcome.version, first.outcome.promoted, first.outcome.champion], [1, true, 1]);
    assert.equal(first.outcome.reason, 'first champion: tiny had none');
    assert.deepEqual([second.outcome.version, second.outcome.promoted, second.outcome.champion], [2, false, 1]);
    assert.match(second.outcome.reason, /^mad (\d+\.\d+)% vs champion v1's \1% \(\+0\.00 points\) does not beat it by the margin \+0\.00 points; stays a challenger$/);
    assert.equal(second.outcome.mad, first.outcome.mad);
    const v1 = await store.getJson(layout.modelVersionRecordKey('tiny', 1), parseModelVersion);
    const v2 = await store.getJson(layout.modelVersionRecordKey('tiny', 2), parseModelVersion);
    assert.deepEqual([v1.sourceRun, v2.sourceRun], [first.runId, second.runId]);
    const [w1, w2] = await Promise.all([v1, v2].map(async (v) => readSafetensors(await store.getBytes(v.weights.unified.key)).tensors));
    assert.deepEqual([...w2.keys()], [...w1.keys()]);
    for (const [name, t] of w1) assert.deepEqual(w2.get(name)!.data, t.data, `${name}: the same weights, bit for bit`);
    assert.equal((await store.getJson(layout.modelChampionKey('tiny'), parseModelChampion)).champion, 1);

    // A production predict takes the champion by name: the same scores as v1's weights file.
    const firstClass = (await readdir(join(dir, 'data'), { withFileTypes: true })).find((e) => e.isDirectory())!.name;
    const images = join(dir, 'data', firstClass, 'test');
    const defect = join(images, (await readdir(images)).find((d) => d !== 'good')!);
    const weightsFile = join(dir, 'v1.safetensors');
    await writeFile(weightsFile, await store.getBytes(v1.weights.unified.key));
    const byName = await cli(['predict', '--model', 'tiny', '--store', storeUrl, '--input', defect, '--out', join(dir, 'by-name'), '--backend', 'wasm']);
    assert.match(byName.stderr, /running tiny@1, the champion, from file:/);
    await cli(['predict', '--weights', weightsFile, '--input', defect, '--out', join(dir, 'by-file'), '--backend', 'wasm']);
    const scores = async (out: string) => JSON.parse(await readFile(join(out, 'scores.json'), 'utf8'));
    assert.deepEqual(await scores(join(dir, 'by-name')), await scores(join(dir, 'by-file')));
  });

  it('records a firing whose run cannot be planned as failed, with the error, and goes on firing', async () => {
    const broken = tinyConfig(join(dir, 'no-such-folder'), storeUrl, { dataset: { synthetic: undefined } });
    await addSchedule(store, target, { name: 'broken', config: broken, timing: { every: 1000 } });
    const scheduler = startScheduler([]);
    let failed: ScheduleFiring[];
    try {
      await scheduler.start();
      failed = await waitFor('two failed firings', async () => {
        const all = withStatus(await listFirings(store, 'broken'), 'failed');
        return all.length >= 2 ? all : undefined;
      }, 30_000);
      await setSchedulePaused(store, target, 'broken', true);
    } finally {
      await scheduler.close();
    }
    for (const f of failed) {
      assert.ok(f.outcome.status === 'failed');
      assert.equal(f.outcome.code, 'E_DATASET');
      assert.match(f.outcome.error, /no-such-folder/);
    }
    assert.equal(await store.exists(layout.modelChampionKey('broken')), false, 'nothing registered');
  });

  it('skips and records a firing while the previous run still goes (overlap skip); a pause stops firings but not the run', async () => {
    await addSchedule(store, target, { name: 'skipper', config: config(), timing: { every: 2000 }, model: 'tiny-skip' });
    const scheduler = startScheduler([]);
    let pausedAt: number;
    let firings: ScheduleFiring[];
    try {
      await scheduler.start();
      const skipped = await waitFor('a skipped firing', async () => withStatus(await listFirings(store, 'skipper'), 'skipped')[0]);
      await setSchedulePaused(store, target, 'skipper', true);
      pausedAt = Date.now();
      firings = await waitFor('the first firing registered', async () => {
        const all = await listFirings(store, 'skipper');
        return withStatus(all, 'registered').length > 0 ? all : undefined;
      });
      assert.ok(skipped.outcome.status === 'skipped');
      assert.equal(skipped.outcome.reason, `run ${firings[0].runId} of this schedule was still going (overlap: skip)`);
      assert.equal(skipped.runId, `skipper-${skipped.stamp}`, 'the run it would have been');
    } finally {
      await scheduler.close();
    }
    const [first, ...rest] = firings;
    assert.ok(first.outcome.status === 'registered' && first.outcome.promoted && first.outcome.version === 1);
    assert.ok(rest.length >= 1 && rest.every((f) => f.outcome.status === 'skipped'), 'every later firing was skipped: never two runs at once');
    assert.ok(firings.every((f) => Date.parse(f.firedAt) <= pausedAt), 'no firing after the pause');
    assert.equal(await store.exists(layout.runRecordKey(rest[0].runId)), false, 'a skipped firing plans no run');
  });
});

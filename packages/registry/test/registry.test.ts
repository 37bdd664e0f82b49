// The registry on a real file:// store (and once on S3): fabricated finished runs registered,
// gated, promoted by hand, rolled back, compared and resolved.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layout } from '@pmamba/protocol';
import { openStore, sha256, type ArtifactStore } from '@pmamba/store';
import {
  diff, listModels, listVersions, promote, readChampion, readVersionWeights, registerRun, resolveModel, rollback, showVersion,
} from '../src/index.ts';
import { FINGERPRINT_B, writeFinishedRun } from './support/finished-run.ts';

const clock = () => new Date('2026-12-07T10:00:00.000Z');
const code = (c: string) => (err: { code?: string; message?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

/** The store with writes of keys matching `pattern` failing, as if the process died there. */
function crashingOn(store: ArtifactStore, pattern: RegExp): ArtifactStore {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'putJson' || prop === 'putBytes') {
        return (key: string, ...rest: unknown[]) => {
          if (pattern.test(key)) return Promise.reject(new Error(`simulated crash writing ${key}`));
          return (target[prop] as (k: string, ...r: unknown[]) => unknown).call(target, key, ...rest);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('model registry (file:// store)', () => {
  let dir: string;
  let store: ArtifactStore;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pmamba-registry-'));
    store = await openStore(`file://${dir}`);
    await writeFinishedRun(store, { runId: 'r1', mad: 0.8 });
    await writeFinishedRun(store, { runId: 'r2-worse', mad: 0.79 });
    await writeFinishedRun(store, { runId: 'r3-better', mad: 0.85 });
    await writeFinishedRun(store, { runId: 'r4-other-data', mad: 0.95, fingerprint: FINGERPRINT_B });
    await writeFinishedRun(store, { runId: 'r5-slightly', mad: 0.853 });
    await writeFinishedRun(store, { runId: 'r6-undefined', mad: null });
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('promotes the first version and copies weights, run record and report into it', async () => {
    const r = await registerRun(store, 'tiles', 'r1', { now: clock, note: 'baseline' });
    assert.deepEqual(r, { version: 1, promoted: true, reason: 'first champion: tiles had none', champion: 1 });
    const v = await showVersion(store, 'tiles', 1);
    assert.equal(v.sourceRun, 'r1');
    assert.equal(v.note, 'baseline');
    assert.equal(v.createdAt, '2026-12-07T10:00:00.000Z');
    assert.deepEqual(v.gate, { promoted: true, reason: r.reason, metric: 'mad', margin: 0 });
    assert.equal(v.evaluationData.images, 12);
    assert.equal(v.metrics.mean.mad, 0.8);
    assert.equal(v.software?.pmamba, '0.1.0');
    const source = await store.getBytes(layout.mergedWeightsKey('r1', 0));
    assert.deepEqual(v.weights.unified, { key: layout.modelVersionWeightsKey('tiles', 1), sha256: sha256(source), size: source.byteLength });
    assert.deepEqual(Buffer.from(await readVersionWeights(store, v)), Buffer.from(source));
    assert.deepEqual(Buffer.from(await store.getBytes(layout.modelVersionRunKey('tiles', 1))), Buffer.from(await store.getBytes(layout.runRecordKey('r1'))));
    assert.deepEqual(await store.getJson(layout.modelVersionReportKey('tiles', 1)), await store.getJson(layout.reportKey('r1', 'json')));
    const champion = await readChampion(store, 'tiles');
    assert.equal(champion?.champion, 1);
    assert.deepEqual(champion?.history, [{ version: 1, at: '2026-12-07T10:00:00.000Z', action: 'promote', reason: r.reason, previous: null }]);
  });

  it('keeps a worse version and an equal one as challengers, saying both values and the margin', async () => {
    const worse = await registerRun(store, 'tiles', 'r2-worse', { now: clock });
    assert.equal(worse.version, 2);
    assert.equal(worse.promoted, false);
    assert.equal(worse.champion, 1);
    assert.match(worse.reason, /mad 79\.00% vs champion v1's 80\.00% \(-1\.00 points\) does not beat it by the margin \+0\.00 points; stays a challenger/);
    const equal = await registerRun(store, 'tiles', 'r1', { now: clock });
    assert.equal(equal.promoted, false);
    assert.match(equal.reason, /mad 80\.00% vs champion v1's 80\.00%/);
    const v2 = await showVersion(store, 'tiles', 2);
    assert.deepEqual(v2.gate, { promoted: false, reason: worse.reason, metric: 'mad', margin: 0, championBefore: 1 });
    assert.equal((await readChampion(store, 'tiles'))?.history.length, 1, 'a challenger leaves the champion record alone');
  });

  it('promotes a better version, and not one better by less than the margin', async () => {
    const better = await registerRun(store, 'tiles', 'r3-better', { now: clock, gate: { margin: 0.01 } });
    assert.deepEqual([better.version, better.promoted, better.champion], [4, true, 4]);
    assert.match(better.reason, /mad 85\.00% beats champion v1's 80\.00% by \+5\.00 points \(margin \+1\.00 points\)/);
    const slightly = await registerRun(store, 'tiles', 'r5-slightly', { now: clock, gate: { margin: 0.01 } });
    assert.deepEqual([slightly.version, slightly.promoted, slightly.champion], [5, false, 4]);
    assert.match(slightly.reason, /85\.30% vs champion v4's 85\.00% \(\+0\.30 points\) does not beat it by the margin \+1\.00 points/);
    const champion = await readChampion(store, 'tiles');
    assert.deepEqual(champion?.history.at(-1), { version: 4, at: '2026-12-07T10:00:00.000Z', action: 'promote', reason: better.reason, previous: 1 });
  });

  it('keeps a version evaluated on other data as a challenger, however good', async () => {
    const other = await registerRun(store, 'tiles', 'r4-other-data', { now: clock });
    assert.deepEqual([other.version, other.promoted, other.champion], [6, false, 4]);
    assert.match(other.reason, /evaluated on other data than champion v4 .*do not compare; stays a challenger — promote it by hand with: pmamba models promote tiles@6/);
  });

  it('never promotes on an undefined metric', async () => {
    const undef = await registerRun(store, 'tiles', 'r6-undefined', { now: clock });
    assert.deepEqual([undef.version, undef.promoted], [7, false]);
    assert.match(undef.reason, /mad of v7 is undefined/);
    const byIAuroc = await registerRun(store, 'tiles', 'r6-undefined', { now: clock, gate: { metric: 'i_auroc' } });
    assert.equal(byIAuroc.promoted, true, 'i_auroc is 0.9 there, above the champion\'s 0.85');
    await rollback(store, 'tiles', { now: clock });
  });

  it('lists versions by their records', async () => {
    const versions = await listVersions(store, 'tiles');
    assert.deepEqual(versions.map((v) => v.number), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(versions.map((v) => v.sourceRun).slice(0, 4), ['r1', 'r2-worse', 'r1', 'r3-better']);
    assert.deepEqual(await listModels(store), [{ name: 'tiles', versions: [1, 2, 3, 4, 5, 6, 7, 8], champion: 4 }]);
  });

  it('promotes by hand whatever the gate said, and rolls back along the champions', async () => {
    const manual = await promote(store, 'tiles', 6, 'new camera: v6 is the one to use', { now: clock });
    assert.equal(manual.champion, 6);
    assert.deepEqual(manual.history.at(-1), { version: 6, at: '2026-12-07T10:00:00.000Z', action: 'manual-promote', reason: 'new camera: v6 is the one to use', previous: 4 });
    assert.equal((await promote(store, 'tiles', 6, 'again')).history.length, manual.history.length, 'promoting the champion changes nothing');
    await assert.rejects(promote(store, 'tiles', 99, 'x'), code('E_VERSION_NOT_FOUND'));

    const back = await rollback(store, 'tiles', { now: clock });
    assert.equal(back.champion, 4);
    assert.deepEqual(back.history.at(-1), { version: 4, at: '2026-12-07T10:00:00.000Z', action: 'rollback', reason: 'rolled back from v6 to v4', previous: 6 });
    const further = await rollback(store, 'tiles', { now: clock, reason: 'v4 drifts' });
    assert.equal(further.champion, 1, 'a second rollback goes further back, not forth to v6');
    assert.equal(further.history.at(-1)?.reason, 'v4 drifts');
    await assert.rejects(rollback(store, 'tiles'), (err: { code?: string; message?: string }) => {
      assert.equal(err.code, 'E_NO_PREVIOUS');
      assert.match(err.message ?? '', /v1 is its first champion/);
      return true;
    });
    await promote(store, 'tiles', 4, 'restore v4', { now: clock });
  });

  it('diffs two versions metric by metric', async () => {
    const d = await diff(store, 'tiles', 1, 4);
    assert.equal(d.sameEvaluationData, true);
    const mad = d.rows.find((r) => r.scope === 'mean' && r.metric === 'mad')!;
    assert.equal(mad.a, 0.8);
    assert.equal(mad.b, 0.85);
    assert.ok(Math.abs(mad.delta! - 0.05) < 1e-12);
    assert.deepEqual([...new Set(d.rows.map((r) => r.scope))], ['mean', 'carpet', 'disc']);
    assert.equal(d.rows.length, 3 * 8);
    const undef = await diff(store, 'tiles', 4, 7);
    assert.equal(undef.rows.find((r) => r.scope === 'mean' && r.metric === 'mad')?.delta, null);
    assert.equal((await diff(store, 'tiles', 4, 6)).sameEvaluationData, false);
  });

  it('resolves NAME to the champion and NAME@N to version N, with coded errors', async () => {
    assert.equal((await resolveModel(store, 'tiles')).number, 4);
    assert.equal((await resolveModel(store, 'tiles@2')).sourceRun, 'r2-worse');
    await assert.rejects(resolveModel(store, 'tiles@42'), code('E_VERSION_NOT_FOUND'));
    await assert.rejects(resolveModel(store, 'nothing'), code('E_MODEL_NOT_FOUND'));
    await assert.rejects(resolveModel(store, 'nothing@1'), code('E_MODEL_NOT_FOUND'));
    for (const bad of ['tiles@0', 'tiles@x', 'til/es', '@3', 'tiles@1@2']) await assert.rejects(resolveModel(store, bad), code('E_MODEL_REF'), bad);
  });

  it('refuses unfinished and unknown runs, weights that are not the manifest\'s, and bad gates', async () => {
    await writeFinishedRun(store, { runId: 'r-running', mad: 0.9, finished: false });
    await assert.rejects(registerRun(store, 'tiles', 'r-running'), code('E_RUN_UNFINISHED'));
    await assert.rejects(registerRun(store, 'tiles', 'r-none'), code('E_RUN_NOT_FOUND'));
    await writeFinishedRun(store, { runId: 'r-swapped', mad: 0.9 });
    await store.putBytes(layout.mergedWeightsKey('r-swapped', 0), Buffer.from('other weights'));
    await assert.rejects(registerRun(store, 'tiles', 'r-swapped'), code('E_WEIGHTS_MISMATCH'));
    await assert.rejects(registerRun(store, 'tiles', 'r1', { gate: { margin: -0.1 } }), code('E_BAD_ARGUMENT'));
    await assert.rejects(registerRun(store, 'tiles', 'r1', { gate: { metric: 'nope' as 'mad' } }), code('E_BAD_ARGUMENT'));
    assert.equal((await listVersions(store, 'tiles')).length, 8, 'nothing was registered');
  });

  it('copies every model of a per-class run', async () => {
    await writeFinishedRun(store, { runId: 'r-per-class', mad: 0.7, mode: 'per-class' });
    const r = await registerRun(store, 'per-class', 'r-per-class', { now: clock });
    const v = await showVersion(store, 'per-class', r.version);
    assert.deepEqual(Object.keys(v.weights).sort(), ['carpet', 'disc']);
    assert.equal(sha256(await readVersionWeights(store, v, 'disc')), v.weights.disc.sha256);
    await assert.rejects(readVersionWeights(store, v), code('E_WEIGHTS_NOT_FOUND'));
  });

  it('leaves no visible version after a crash before version.json, and reuses its number', async () => {
    await assert.rejects(registerRun(crashingOn(store, /\/version\.json$/), 'crashy', 'r1', { now: clock }), /simulated crash/);
    assert.ok((await store.list(layout.modelVersionPrefix('crashy', 1))).length > 0, 'the copied files are there');
    await assert.rejects(listVersions(store, 'crashy'), code('E_MODEL_NOT_FOUND'));
    await assert.rejects(resolveModel(store, 'crashy'), code('E_MODEL_NOT_FOUND'));
    assert.deepEqual((await listModels(store)).map((m) => m.name), ['per-class', 'tiles']);

    // A crash after the record, before the alias: the version exists; it has no champion yet.
    await assert.rejects(registerRun(crashingOn(store, /\/champion\.json$/), 'crashy', 'r3-better', { now: clock }), /simulated crash/);
    const v1 = await showVersion(store, 'crashy', 1);
    assert.equal(v1.sourceRun, 'r3-better', 'the crashed folder was replaced whole');
    await assert.rejects(resolveModel(store, 'crashy'), code('E_NO_CHAMPION'));
    const files = (await store.list(layout.modelVersionPrefix('crashy', 1))).map((o) => o.key.slice(layout.modelVersionPrefix('crashy', 1).length));
    assert.deepEqual(files.sort(), ['report.json', 'run.json', 'unified.safetensors', 'version.json']);
    await assert.rejects(rollback(store, 'crashy'), code('E_NO_CHAMPION'));
    await promote(store, 'crashy', 1, 'the registration crashed before the alias');
    assert.equal((await resolveModel(store, 'crashy')).number, 1);
  });
});

/** The fields of test/support/s3-server.ts's S3TestServer used here. */
interface S3TestServer {
  env: Record<string, string>;
  storeUrl(prefix?: string): string;
  dispose(): Promise<void>;
}
// Shared with the top-level tests and outside this package's TypeScript project: loaded by URL.
const helperUrl = new URL('../../../test/support/s3-server.ts', import.meta.url).href;

describe('model registry (S3 store)', () => {
  it('registers, gates and resolves on s3rver', async () => {
    const { startS3Server } = (await import(helperUrl)) as { startS3Server: () => Promise<S3TestServer> };
    const s3 = await startS3Server();
    const store = await openStore(s3.storeUrl('team'), { env: s3.env });
    try {
      await writeFinishedRun(store, { runId: 'a', mad: 0.6 });
      await writeFinishedRun(store, { runId: 'b', mad: 0.7 });
      assert.equal((await registerRun(store, 'tiles', 'a')).promoted, true);
      assert.equal((await registerRun(store, 'tiles', 'a')).promoted, false);
      const b = await registerRun(store, 'tiles', 'b');
      assert.deepEqual([b.version, b.promoted], [3, true]);
      const champion = await resolveModel(store, 'tiles');
      assert.equal(champion.sourceRun, 'b');
      assert.equal(sha256(await readVersionWeights(store, champion)), champion.weights.unified.sha256);
      assert.equal((await rollback(store, 'tiles')).champion, 1);
      assert.deepEqual(await listModels(store), [{ name: 'tiles', versions: [1, 2, 3], champion: 1 }]);
    } finally {
      await store.close();
      await s3.dispose();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { layout, type ReportResult, type SweepManifest } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import type { Coordinator, RunOutcome } from '../src/coordinator.ts';
import { planSweep, sweepRunConfig, sweepVariants } from '../src/sweep-plan.ts';
import { createSweep, loadSweepManifest, medianStop, runSweep } from '../src/sweep.ts';

let dir: string;
let store: ArtifactStore;

function source(sweep: object, patch: object = {}) {
  return {
    name: 'sweep.yaml',
    value: {
      run: { id: 'abl' },
      dataset: { root: join(dir, 'data'), imageSize: 32, synthetic: { classes: 2, size: 32, train: 4, test: 4, seed: 1 } },
      model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, teacher: { init: 'random' } },
      training: { rounds: 2, localSteps: 1, workers: 1, seed: 7 },
      evaluation: { everyRounds: 1 },
      sweep,
      ...patch,
    },
  };
}

const metrics = (mad: number) => ({ i_auroc: mad, i_ap: mad, i_f1max: mad, p_auroc: mad, p_ap: mad, p_f1max: mad, au_pro: mad, mad });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-sweep-'));
  store = await openStore(`file://${join(dir, 'store')}`);
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('planning a sweep', () => {
  it('runs every grid point once per seed, with the seed as training.seed and <sweep>-v<i>-s<seed> as run id', () => {
    const m = planSweep(source({ grid: { 'model.noiseStd': [0, 0.2], 'training.lr': [0.001, 0.002] } }), { seeds: [1, 2] });
    assert.equal(m.name, 'abl');
    assert.deepEqual(m.paths, ['model.noiseStd', 'training.lr']);
    assert.deepEqual(m.variants.map((v) => v.overrides), [
      { 'model.noiseStd': 0, 'training.lr': 0.001 },
      { 'model.noiseStd': 0, 'training.lr': 0.002 },
      { 'model.noiseStd': 0.2, 'training.lr': 0.001 },
      { 'model.noiseStd': 0.2, 'training.lr': 0.002 },
    ]);
    assert.deepEqual(m.variants[3].runs.map((r) => r.runId), ['abl-v3-s1', 'abl-v3-s2']);
    const config = sweepRunConfig(m, sweepVariants(m)[3], 2);
    assert.equal(config.run.id, 'abl-v3-s2');
    assert.equal(config.training.seed, 2);
    assert.equal(config.training.lr, 0.002);
    assert.equal((config.model as { noiseStd?: number }).noiseStd, 0.2);
    assert.equal(m.maxParallel, 1);
    assert.equal(m.earlyStopping, null);
  });

  it('draws the same random-search variants for the same seed, inside their ranges', () => {
    const space = { 'training.lr': { min: 0.0001, max: 0.01, log: true }, 'model.noiseStd': [0, 0.1, 0.5] };
    const a = planSweep(source({ samples: 6, seed: 3, space }));
    const b = planSweep(source({ samples: 6, seed: 3, space }));
    const c = planSweep(source({ samples: 6, seed: 4, space }));
    assert.deepEqual(a.variants.map((v) => v.overrides), b.variants.map((v) => v.overrides));
    assert.notDeepEqual(a.variants.map((v) => v.overrides), c.variants.map((v) => v.overrides));
    for (const v of a.variants) {
      const lr = v.overrides['training.lr'] as number;
      assert.ok(lr >= 0.0001 && lr <= 0.01, `lr ${lr}`);
      assert.ok([0, 0.1, 0.5].includes(v.overrides['model.noiseStd'] as number));
    }
    assert.deepEqual(a.seeds, [7], 'the config seed when none are given');
  });

  it('refuses what cannot be a sweep, naming the field', () => {
    assert.throws(() => planSweep(source(undefined as unknown as object)), { code: 'E_SWEEP', message: /has no sweep block/ });
    assert.throws(() => planSweep(source({ space: { 'training.lr': [1, 2] } })), { code: 'E_SWEEP_INVALID', message: /samples: random search \(space\) needs samples/ });
    assert.throws(() => planSweep(source({ grid: { 'training.lr': [1] }, space: { 'training.lr': [1] }, samples: 2 })), { message: /give either grid .* or space/ });
    assert.throws(() => planSweep(source({ grid: { 'training.lr': [1, 2] }, baseline: 2 })), { message: /baseline: expected a variant index below 2, got 2/ });
    assert.throws(() => planSweep(source({ grid: { 'training.lr': [1, 2] } }), { name: 'x'.repeat(125) }), { code: 'E_SWEEP', message: /within 128 characters/ });
  });
});

describe('the median rule', () => {
  it('goes on without enough peers, stops below their median, never compares a variant with itself', () => {
    const manifest = planSweep(source({ grid: { 'model.noiseStd': [0, 0.1, 0.2, 0.3] }, earlyStopping: { rule: 'median', minPeers: 2 } }));
    const set = (v: number, mad: number) => (manifest.variants[v].runs[0].evaluated['1'] = mad);
    set(0, 0.5);
    assert.equal(medianStop(manifest, 1, 1, 0.1), undefined, 'one peer of the two needed');
    set(1, 0.7);
    assert.match(medianStop(manifest, 2, 1, 0.55)!, /mAD 55\.0% after round 1 is below the median 60\.0% of 2 peer run\(s\)/);
    assert.equal(medianStop(manifest, 2, 1, 0.6), undefined, 'at the median it goes on');
    assert.equal(medianStop(manifest, 0, 1, 0.1), undefined, "variant 0's own value is not a peer: one peer left");
    assert.equal(medianStop(manifest, 2, 2, 0.1), undefined, 'no peer reached round 2');
    assert.equal(medianStop({ ...manifest, earlyStopping: null }, 2, 1, 0.1), undefined, 'off');
  });
});

describe('running a sweep (stand-in coordinators; the real ones: test/sweep-cli.test.ts)', () => {
  it('keeps at most maxParallel runs in flight, records each, and tabulates', async () => {
    const manifest = planSweep(source({ grid: { 'model.noiseStd': [0, 0.1, 0.2, 0.3, 0.4] } }), { maxParallel: 2, name: 'pool' });
    await createSweep(store, manifest);
    await assert.rejects(createSweep(store, manifest), { code: 'E_SWEEP', message: /already exists .*`pmamba sweep --resume pool`/ });
    let inFlight = 0;
    let most = 0;
    const fake = (): Coordinator =>
      ({
        createRun: async (record: { runId: string }) => store.putJson(layout.runRecordKey(record.runId), record),
        run: async (record: { runId: string }): Promise<RunOutcome> => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, 50));
          inFlight--;
          const v = Number(/-v(\d+)-/.exec(record.runId)![1]);
          const result = { runId: record.runId, table: { classes: {}, mean: metrics(0.5 + v / 100) }, artifacts: [] } as unknown as ReportResult;
          return { runId: record.runId, models: {}, teacher: 'random', evaluations: [{ atRound: 2, result }] };
        },
        close: async () => undefined,
      }) as unknown as Coordinator;
    const outcome = await runSweep(manifest, { store, coordinator: fake });
    assert.equal(most, 2);
    const stored = await loadSweepManifest(store, 'pool');
    assert.deepEqual(stored.variants.map((v) => v.runs[0].status), ['done', 'done', 'done', 'done', 'done']);
    assert.ok(stored.variants.every((v) => typeof v.runs[0].seconds === 'number'));
    assert.match(outcome.report.markdown, /\| 4: model\.noiseStd=0\.4 \| 1 \| 54\.0 \(\+4\.0\) \|/);
    assert.ok(await store.exists(layout.sweepReportKey('pool', 'html')));

    // Resuming a finished sweep runs nothing again.
    let runs = 0;
    await runSweep(stored, { store, coordinator: () => ({ ...fake(), run: async () => (runs++, undefined) }) as unknown as Coordinator }, true);
    assert.equal(runs, 0);
  });

  it('records a failed run with its reason and goes on with the others', async () => {
    const manifest: SweepManifest = planSweep(source({ grid: { 'model.noiseStd': [0, 0.1] } }), { name: 'fails' });
    await createSweep(store, manifest);
    const coordinator = () =>
      ({
        createRun: async () => undefined,
        run: async (record: { runId: string }) => {
          if (record.runId.includes('-v0-')) throw new Error('a worker ran out of memory');
          const result = { table: { classes: {}, mean: metrics(0.6) } } as unknown as ReportResult;
          return { runId: record.runId, models: {}, teacher: 'random', evaluations: [{ atRound: 2, result }] };
        },
        close: async () => undefined,
      }) as unknown as Coordinator;
    const outcome = await runSweep(manifest, { store, coordinator });
    assert.deepEqual(outcome.manifest.variants.map((v) => v.runs[0].status), ['failed', 'done']);
    assert.equal(outcome.manifest.variants[0].runs[0].reason, 'a worker ran out of memory');
    assert.match(outcome.report.markdown, /- fails-v0-s7 \(variant 0, seed 7\) failed: a worker ran out of memory/);
  });
});

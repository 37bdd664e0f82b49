import assert from 'node:assert/strict';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { synthesize, writePng } from '@pmamba/data';
import { parseRunConfig, type RunConfig } from '@pmamba/protocol';
import { CoordinatorError } from '../src/errors.ts';
import { planRun } from '../src/plan.ts';

let dir: string;

function config(policy: 'fail' | 'skip', patch: object = {}): RunConfig {
  return parseRunConfig({
    dataset: { root: join(dir, 'data'), imageSize: 32, badImagePolicy: policy, synthetic: { classes: 2, size: 32, train: 5, test: 4, seed: 1 } },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } },
    training: { rounds: 1, localSteps: 1, workers: 2 },
    ...patch,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-plan-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('planRun', () => {
  it('warns at planning about a class whose defect masks are all black', async () => {
    const root = join(dir, 'black-masks');
    await synthesize({ out: root, classes: ['carpet', 'disc'], size: 32, train: 2, test: 4, seed: 1 });
    for (const entry of await readdir(join(root, 'disc', 'ground_truth'), { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) await writePng(join(entry.parentPath, entry.name), { width: 32, height: 32, channels: 1, data: new Uint8Array(32 * 32) });
    }
    const c = parseRunConfig({ dataset: { root, imageSize: 32 }, model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }, training: { rounds: 1, localSteps: 1 } });
    const warnings: string[] = [];
    await planRun(c, { runId: 'black', onWarning: (w) => warnings.push(`${w.code} ${w.message}`) });
    assert.deepEqual(warnings, ["E_MASKS_EMPTY class 'disc': all 2 defect masks are empty (black): pixel metrics (P-AUROC, P-AP, P-F1max, AU-PRO) will be n/a for it"]);
  });

  it('refuses a class folder name the store cannot take, before any job', async () => {
    const root = join(dir, 'long-names');
    await synthesize({ out: root, classes: ['carpet', 'disc'], size: 32, train: 2, test: 2, seed: 1 });
    const long = 'ñ'.repeat(120); // 120 characters, 240 bytes of UTF-8
    await rename(join(root, 'disc'), join(root, long));
    const c = parseRunConfig({ dataset: { root, imageSize: 32 }, model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }, training: { rounds: 1, localSteps: 1 } });
    await assert.rejects(planRun(c, { runId: 'long' }), (e: CoordinatorError) => {
      assert.equal(e.code, 'E_DATASET');
      assert.match(e.message, /^class folder "ñ{40}…" in .*long-names: invalid class name "ñ+: it must be a single path segment of at most 200 bytes \(UTF-8\).*; rename it$/);
      return true;
    });
  });

  it('records the evaluation data by content, and reads a dataset once for every run planned with the same cache', async () => {
    const root = join(dir, 'fingerprint');
    await synthesize({ out: root, classes: ['carpet', 'disc'], size: 32, train: 2, test: 4, seed: 1 });
    const c = parseRunConfig({ dataset: { root, imageSize: 32 }, model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }, training: { rounds: 1, localSteps: 1 } });
    const datasets = new Map();
    const first = await planRun(c, { runId: 'fp1', datasets });
    assert.match(first.plan.evaluationData.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(first.plan.evaluationData.images, 8);
    const test = join(root, 'carpet', 'test', 'good');
    const image = join(test, (await readdir(test))[0]);
    await writePng(image, { width: 32, height: 32, channels: 3, data: new Uint8Array(32 * 32 * 3).fill(9) });
    const cached = await planRun(c, { runId: 'fp2', datasets });
    assert.deepEqual(cached.plan.evaluationData, first.plan.evaluationData, 'planned from the cached read');
    const fresh = await planRun(c, { runId: 'fp3' });
    assert.notEqual(fresh.plan.evaluationData.fingerprint, first.plan.evaluationData.fingerprint, 'a changed test image changes the fingerprint');
    assert.equal(fresh.plan.evaluationData.images, 8);
  });

  it('generates the synthetic set, splits each class over the jobs and makes the dataset root absolute', async () => {
    const record = await planRun(config('fail'), { runId: 'p1', now: () => new Date('2025-02-03T04:05:06Z') });
    assert.equal(record.runId, 'p1');
    assert.equal(record.createdAt, '2025-02-03T04:05:06.000Z');
    assert.deepEqual(record.plan.classes, ['carpet', 'disc']);
    assert.deepEqual(record.plan.models, ['unified']);
    assert.equal(record.config.dataset.root, join(dir, 'data'));
    assert.equal(record.config.dataset.format, 'mvtec');
    // 5 images per class over 2 jobs: shards of 3 and 2.
    assert.deepEqual(record.plan.shards.map((s) => [s.id, s.items.length]), [['carpet/0', 3], ['carpet/1', 2], ['disc/0', 3], ['disc/1', 2]]);
    assert.equal(record.config.redis.url, undefined);
  });

  it('names a corrupt image under policy fail, and trains without it under skip', async () => {
    await planRun(config('fail'), { runId: 'p2' });
    const bad = join(dir, 'data', 'disc', 'train', 'good', '002.png');
    await writeFile(bad, 'not a png');
    await assert.rejects(planRun(config('fail'), { runId: 'p2' }), (e: CoordinatorError) => {
      assert.equal(e.code, 'E_DATASET');
      assert.ok(e.message.includes(bad), e.message);
      assert.match(e.message, /badImagePolicy: skip/);
      return true;
    });
    const warnings: string[] = [];
    const record = await planRun(config('skip'), { runId: 'p2', onWarning: (w) => warnings.push(w.path ?? '') });
    assert.deepEqual(warnings, [bad]);
    const disc = record.plan.shards.filter((s) => s.className === 'disc').flatMap((s) => s.items);
    assert.equal(disc.length, 4);
    assert.ok(!disc.includes('disc/train/good/002.png'));
  });
});

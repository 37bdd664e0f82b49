// Whatever the config and the dataset tree, a run either fails before its first train-shard job
// (parsing the config or planning, with a coded error) or ends with a report holding every
// class. Seeded damage to a tiny synthetic tree and seeded config mutations; the runs that plan
// go through real Redis, a file store and a real worker.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Coordinator, planRun } from '@pmamba/coordinator';
import { createRng, synthesize, writePng } from '@pmamba/data';
import { parseRunConfig, type RunConfigInput } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { startWorker, type WorkerHandle } from '@pmamba/worker';
import { testRedis } from './support/redis.ts';

const redis = testRedis('fail-early');
let dir: string;
let pristine: string;
let store: ArtifactStore;
let worker: WorkerHandle;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-fail-early-'));
  pristine = join(dir, 'pristine');
  await synthesize({ out: pristine, classes: ['carpet', 'disc'], size: 32, train: 4, test: 6, seed: 3 });
  store = await openStore(`file://${dir}/store`);
  worker = await startWorker({ connection: redis.connection, prefix: redis.prefix, storeUrl: `file://${dir}/store`, backend: 'wasm', concurrency: 1 });
});

after(async () => {
  await worker?.shutdown();
  await store?.close();
  await redis.clear();
  await rm(dir, { recursive: true, force: true });
});

const files = async (root: string, sub: string): Promise<string[]> =>
  (await readdir(join(root, sub), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();

/** Ways a dataset tree goes wrong, each applied to a fresh copy; `pick` chooses among equals. */
const DAMAGE: Record<string, (root: string, pick: <T>(xs: T[]) => T) => Promise<void>> = {
  'a text file named .png among the training images': async (root, pick) => writeFile(pick(await files(root, 'disc/train')), 'not an image'),
  'an empty test image': async (root, pick) => writeFile(pick(await files(root, 'carpet/test')), ''),
  'a missing defect mask': async (root, pick) => unlink(pick(await files(root, 'disc/ground_truth'))),
  'no training images in one class': async (root) => {
    for (const f of await files(root, 'carpet/train')) await unlink(f);
  },
  'a class folder name longer than a store key segment': async (root) => rename(join(root, 'disc'), join(root, 'ñ'.repeat(120))),
  'every defect mask of one class black': async (root) => {
    for (const f of await files(root, 'disc/ground_truth')) await writePng(f, { width: 32, height: 32, channels: 1, data: new Uint8Array(32 * 32) });
  },
  'only normal test images in one class': async (root) => {
    const test = await readdir(join(root, 'carpet/test'));
    for (const d of test.filter((d) => d !== 'good')) await rm(join(root, 'carpet/test', d), { recursive: true });
    await rm(join(root, 'carpet/ground_truth'), { recursive: true, force: true });
  },
};

/** Config changes, each alone: the ones a schema or the model must refuse, and harmless ones. */
const MUTATIONS: Record<string, (c: RunConfigInput) => void> = {
  'none': () => undefined,
  'imageSize 96 with the small preset\'s own pyramid levels': (c) => {
    c.dataset!.imageSize = 96;
    delete (c.model as { pyramid?: unknown }).pyramid;
  },
  'rounds 1e9': (c) => void (c.training!.rounds = 1e9),
  'batchSize 0': (c) => void (c.training!.batchSize = 0),
  'a misspelt model field': (c) => void ((c.model as Record<string, unknown>).dstate = 8),
  'badImagePolicy skip': (c) => void (c.dataset!.badImagePolicy = 'skip'),
};

function baseConfig(root: string): RunConfigInput {
  return {
    dataset: { root, imageSize: 32 },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, teacher: { init: 'random' } },
    training: { rounds: 1, localSteps: 1, batchSize: 2, workers: 1, checkpointEverySteps: 1, seed: 1 },
    evaluation: { batchSize: 4, heatmaps: 1 },
  };
}

type Outcome = { stage: 'config' | 'plan'; code: string } | { stage: 'report'; classes: string[]; na: string[] };

async function attempt(caseId: string, root: string, input: RunConfigInput): Promise<Outcome> {
  let config;
  try {
    config = parseRunConfig(input);
  } catch (err) {
    return { stage: 'config', code: (err as { code: string }).code };
  }
  let record;
  try {
    record = await planRun(config, { runId: caseId });
  } catch (err) {
    return { stage: 'plan', code: (err as { code: string }).code };
  }
  const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
  try {
    await coordinator.createRun(record);
    const outcome = await coordinator.run(record);
    const table = outcome.evaluations.at(-1)!.result.table;
    return { stage: 'report', classes: Object.keys(table.classes).sort(), na: Object.entries(table.classes).filter(([, m]) => m.notes).map(([c]) => c) };
  } finally {
    await coordinator.close();
  }
}

describe('fail before training, or report every class', () => {
  // Every damage with no config change, every config change on an undamaged tree, bad files
  // under policy skip; then seeded pairs of both.
  const rng = createRng(20261206);
  const pairs: [string, string][] = [
    ...Object.keys(DAMAGE).map((d) => [d, 'none'] as [string, string]),
    ...Object.keys(MUTATIONS).filter((m) => m !== 'none').map((m) => ['', m] as [string, string]),
    // Under policy skip, a bad file is left out and the run goes on.
    ['a text file named .png among the training images', 'badImagePolicy skip'],
    ['an empty test image', 'badImagePolicy skip'],
    ...Array.from({ length: 3 }, () => [rng.pick(Object.keys(DAMAGE)), rng.pick(Object.keys(MUTATIONS))] as [string, string]),
  ];
  pairs.forEach(([damage, mutation], i) => {
    it(`${damage || 'an intact tree'} × ${mutation}`, async () => {
      const root = join(dir, `case-${i}`);
      await cp(pristine, root, { recursive: true });
      const pick = <T>(xs: T[]): T => xs[Math.floor(createRng(i).next() * xs.length)];
      if (damage) await DAMAGE[damage](root, pick);
      const input = baseConfig(root);
      MUTATIONS[mutation](input);
      const outcome = await attempt(`fuzz-${i}`, root, input);
      if (outcome.stage !== 'report') {
        assert.match(outcome.code, /^E_[A-Z_]+$/, `${outcome.stage} failed without a coded error`);
      } else {
        // Every class the tree holds has a row; undefined metrics are n/a with a reason.
        const classes = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
        assert.deepEqual(outcome.classes, classes);
      }
      console.log(`# ${damage || 'intact'} × ${mutation}: ${outcome.stage === 'report' ? `report of ${outcome.classes.join(', ')}${outcome.na.length ? ` (n/a notes: ${outcome.na.join(', ')})` : ''}` : `${outcome.stage} refused it [${outcome.code}]`}`);
    });
  });
});

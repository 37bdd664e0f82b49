// `pmamba models …` and `pmamba predict --model` as a user runs them, against a file:// store
// holding fabricated finished runs (no training; the weights are an untrained small model).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readNpy, synthesize } from '@pmamba/data';
import { PyramidMamba, presetConfig, saveCheckpoint, useBackend } from '@pmamba/model';
import type { RunConfigInput } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/src/main.ts');

/** The registry's fabricated-run helper: outside this package's TypeScript project, so loaded by URL. */
type WriteFinishedRun = (
  store: ArtifactStore,
  o: { runId: string; mad: number | null; fingerprint?: string; mode?: 'unified' | 'per-class'; weights?: Record<string, Uint8Array>; config?: RunConfigInput },
) => Promise<unknown>;
const helper = new URL('../../registry/test/support/finished-run.ts', import.meta.url).href;

let dir: string;
let storeUrl: string;
let images: string;

const pmamba = (...args: string[]) => run(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, maxBuffer: 1 << 24 });

async function pmambaFails(...args: string[]): Promise<string> {
  try {
    await pmamba(...args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    assert.notEqual(err.code, 0);
    return err.stderr;
  }
  assert.fail(`pmamba ${args.join(' ')} should have failed`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmamba-models-cli-'));
  storeUrl = `file://${join(dir, 'store')}`;
  const { writeFinishedRun, FINGERPRINT_B } = (await import(helper)) as { writeFinishedRun: WriteFinishedRun; FINGERPRINT_B: string };
  // An untrained small model whose pyramid fits 32². The file does not record its image size
  // (IMAGE_SIZE_KEY), so only the version's run config can say 32 (predict's default is 256).
  await useBackend('wasm');
  const model = new PyramidMamba(presetConfig('small', { pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } }), 3);
  const weights = saveCheckpoint(model);
  model.dispose();
  const config: RunConfigInput = {
    dataset: { root: '/data/synth', imageSize: 32 },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] } },
    training: { rounds: 1, localSteps: 2 },
  };
  const store = await openStore(storeUrl);
  await writeFinishedRun(store, { runId: 'night-1', mad: 0.8, weights: { unified: weights }, config });
  await writeFinishedRun(store, { runId: 'night-2', mad: 0.75, weights: { unified: weights }, config });
  await writeFinishedRun(store, { runId: 'night-3', mad: 0.83, weights: { unified: weights }, config });
  await writeFinishedRun(store, { runId: 'other-data', mad: 0.9, fingerprint: FINGERPRINT_B });
  await writeFinishedRun(store, {
    runId: 'per-class',
    mad: 0.7,
    mode: 'per-class',
    weights: { carpet: weights, disc: weights },
    config: { ...config, training: { ...config.training, mode: 'per-class' } },
  });
  await store.close();
  images = join(dir, 'images');
  await synthesize({ out: images, classes: 1, size: 32, train: 1, test: 2, seed: 1 });
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('pmamba models register, list, show, diff, promote and rollback', async () => {
  const s = ['--store', storeUrl];
  let out = (await pmamba('models', 'register', 'tiles', '--run', 'night-1', ...s)).stdout;
  assert.match(out, /tiles@1: registered from run night-1\npromoted to champion: first champion/);
  out = (await pmamba('models', 'register', 'tiles', '--run', 'night-2', ...s)).stdout;
  assert.match(out, /challenger \(champion stays v1\): mad 75\.00% vs champion v1's 80\.00% \(-5\.00 points\)/);
  out = (await pmamba('models', 'register', 'tiles', '--run', 'night-3', '--gate-margin', '0.05', ...s)).stdout;
  assert.match(out, /tiles@3: .*\nchallenger .*does not beat it by the margin \+5\.00 points/);
  const json = JSON.parse((await pmamba('models', 'register', 'tiles', '--run', 'night-3', '--gate-margin', '0.01', '--json', ...s)).stdout);
  assert.deepEqual([json.version, json.promoted, json.champion], [4, true, 4]);
  assert.match((await pmamba('models', 'register', 'tiles', '--run', 'other-data', ...s)).stdout, /other data than champion v4/);
  assert.match(await pmambaFails('models', 'register', 'tiles', '--run', 'missing', ...s), /\[E_RUN_NOT_FOUND\]/);

  assert.match((await pmamba('models', 'list', ...s)).stdout, /\| tiles \| 5 \| v4 \|/);
  out = (await pmamba('models', 'list', 'tiles', ...s)).stdout;
  assert.match(out, /\| \* v4 \| [^|]+ \| night-3 \| aaaaaaaaaaaa \(12\) \| 83\.0% \| promoted \|/);
  assert.match(out, /\| v2 \| [^|]+ \| night-2 \| .* \| 75\.0% \| challenger \|/);
  assert.match(out, /champion: v4\nhistory:\n.*promote +v1 .*\n.*promote +v4 \(was v1\)/);

  out = (await pmamba('models', 'show', 'tiles', ...s)).stdout;
  assert.match(out, /^tiles@4 \(champion\)\n/);
  assert.match(out, /source run +night-3/);
  assert.match(out, /image size 32/);
  assert.match(out, /\| \*\*mean\*\* \|.*\*\*83\.0\*\* \|/);
  assert.equal(JSON.parse((await pmamba('models', 'show', 'tiles@2', '--json', ...s)).stdout).sourceRun, 'night-2');

  out = (await pmamba('models', 'diff', 'tiles', '1', '4', ...s)).stdout;
  assert.match(out, /same evaluation data/);
  assert.match(out, /\| +\| mAD \| 80\.0% \| 83\.0% \| \+3\.0 \|/);
  assert.match((await pmamba('models', 'diff', 'tiles', '4', '5', '--classes', ...s)).stdout, /evaluated on different data[\s\S]*\| carpet \| I-AUROC \|/);

  assert.match((await pmamba('models', 'promote', 'tiles@5', '--reason', 'new camera', ...s)).stdout, /tiles: champion v4 → v5 \(manual-promote: new camera\)/);
  assert.match((await pmamba('models', 'rollback', 'tiles', ...s)).stdout, /tiles: champion v5 → v4 \(rollback: rolled back from v5 to v4\)/);
  assert.match(await pmambaFails('models', 'promote', 'tiles', ...s), /name the version, e\.g\. tiles@3 \[E_BAD_OPTION\]/);
  assert.match(await pmambaFails('models', 'show', 'tiles@9', ...s), /model tiles has no version 9 .*\[E_VERSION_NOT_FOUND\]/);
  assert.match(await pmambaFails('models', 'show', 'nothing', ...s), /\[E_MODEL_NOT_FOUND\]/);
});

test('pmamba predict --model runs a registered version, at its run\'s image size', async () => {
  const s = ['--store', storeUrl];
  await pmamba('models', 'register', 'serve', '--run', 'night-1', ...s);
  await pmamba('models', 'register', 'serve-pc', '--run', 'per-class', ...s);
  const input = join(images, readdirFirst(images), 'test', 'good');
  const n = readdirSync(input).length;

  const out = join(dir, 'pred');
  const r = await pmamba('predict', '--model', 'serve', ...s, '--input', input, '--out', out, '--backend', 'wasm');
  assert.match(r.stdout, new RegExp(`${n} image\\(s\\)`));
  assert.deepEqual(readNpy(join(out, 'maps.npy')).shape, [n, 32, 32]);
  assert.equal((JSON.parse(readFileSync(join(out, 'scores.json'), 'utf8')) as number[]).length, n);
  assert.doesNotMatch(r.stderr, /trained at/, 'run at the size its run config states');

  const outPc = join(dir, 'pred-pc');
  await pmamba('predict', '--model', 'serve-pc@1', '--class', 'disc', ...s, '--input', input, '--out', outPc, '--backend', 'wasm');
  assert.deepEqual(readNpy(join(outPc, 'maps.npy')).shape, [n, 32, 32]);

  assert.match(await pmambaFails('predict', '--model', 'serve-pc', ...s, '--input', input, '--out', out), /serve-pc@1 is a per-class model; pick its class with --class \(one of carpet, disc\) \[E_BAD_OPTION\]/);
  assert.match(await pmambaFails('predict', '--model', 'serve', '--class', 'disc', ...s, '--input', input, '--out', out), /unified model.*drop --class \[E_BAD_OPTION\]/);
  assert.match(await pmambaFails('predict', '--model', 'serve', '--weights', 'x.safetensors', '--input', input, '--out', out), /either --weights FILE or --model/);
  assert.match(await pmambaFails('predict', '--weights', 'x.safetensors', ...s, '--input', input, '--out', out), /--store and --class apply to --model/);
  assert.match(await pmambaFails('predict', '--model', 'nothing', ...s, '--input', input, '--out', out), /\[E_MODEL_NOT_FOUND\]/);
});

function readdirFirst(path: string): string {
  return readdirSync(path).filter((n) => !n.endsWith('.json')).sort()[0];
}

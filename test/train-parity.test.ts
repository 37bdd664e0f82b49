// Distributing training must not cost quality: the same data, model and total number of
// optimiser steps, trained by one train-shard job per round or by two (each on half the shards,
// weights averaged by samples), reach a mean mAD within 3 points of each other — and both
// clearly above the untrained model, so the comparison is between models that learned.
// Real Redis (under a prefix of its own), s3rver on loopback, two `pmamba worker` processes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Coordinator, planRun, type RunOutcome } from '@pmamba/coordinator';
import { parseRunConfig, type RunConfig } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { testRedis } from './support/redis.ts';
import { startS3Server, type S3TestServer } from './support/s3-server.ts';
import { spawnWorker, type WorkerProcess } from './support/tiny-run.ts';

/**
 * Optimiser steps per run, over all jobs and rounds. Measured (wasm, this machine): untrained
 * 36.5, one job per round 51.2, two jobs per round 50.1; after the scan's exp and the weight
 * gradients were rounded differently (same algorithms, 2026-12-07) 51.7 and 49.6. Float rounding
 * alone moves the gap by a point, so the bound is 3 points, not 2. Averaging every 8 local steps
 * matters this early in training: with 4 rounds of 16 steps the two-job run reached 48.3 (one job 51.0).
 */
const MAX_GAP = 3;
const TOTAL_STEPS = 128;
const ROUNDS = 8;

const redis = testRedis('parity');
let s3: S3TestServer;
let dir: string;
let store: ArtifactStore;
const workers: WorkerProcess[] = [];

before(async () => {
  s3 = await startS3Server();
  Object.assign(process.env, s3.env);
  dir = await mkdtemp(join(tmpdir(), 'pmamba-parity-'));
  store = await openStore(s3.storeUrl('parity'));
  for (let i = 0; i < 2; i++) {
    workers.push(spawnWorker({ redisUrl: redis.url, prefix: redis.prefix, storeUrl: s3.storeUrl('parity'), env: { ...s3.env, PMAMBA_THREADS: '1' } }));
  }
});

after(async () => {
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  await store?.close();
  await redis.clear();
  await s3?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** The quickstart's data and model; `jobs` train-shard jobs per round share TOTAL_STEPS. */
function config(jobs: number): RunConfig {
  return parseRunConfig(
    {
      version: 1,
      run: { name: `parity, ${jobs} job(s) per round` },
      dataset: { root: join(dir, 'data'), imageSize: 64, synthetic: { classes: 3, size: 64, train: 32, test: 40, seed: 7 } },
      // The teacher the numbers above were measured with (random, random stem, BatchNorm calibrated): this test
      // is about distributing the student's training, which does not depend on the teacher.
      model: { preset: 'small', noiseStd: 0.05, teacher: { init: 'random', stem: 'random' } },
      training: { mode: 'unified', rounds: ROUNDS, localSteps: TOTAL_STEPS / ROUNDS / jobs, batchSize: 4, lr: 0.002, seed: 7, workers: jobs, checkpointEverySteps: 100 },
      evaluation: { batchSize: 8, blurSigma: 2, heatmaps: 0 },
      store: { url: s3.storeUrl('parity') },
    },
    'parity test config',
  );
}

async function train(jobs: number): Promise<RunOutcome> {
  const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
  try {
    const record = await planRun(config(jobs), { runId: `parity-${jobs}` });
    await coordinator.createRun(record);
    return await coordinator.run(record);
  } finally {
    await coordinator.close();
  }
}

const mad = (o: RunOutcome, i: number) => 100 * (o.evaluations.at(i)!.result.table.mean.mad ?? NaN);

describe('one worker vs two workers', () => {
  it(`reach a mean mAD within ${MAX_GAP} points for the same ${TOTAL_STEPS} steps in all`, async () => {
    // Both runs at once: each is deterministic under its seeds whichever process runs its
    // jobs, and the one-job run alone would leave a worker idle.
    const [one, two] = await Promise.all([train(1), train(2)]);
    const untrained = mad(one, 0);
    const [a, b] = [mad(one, -1), mad(two, -1)];
    process.stdout.write(`# mean mAD: untrained ${untrained.toFixed(1)}, one job per round ${a.toFixed(1)}, two jobs per round ${b.toFixed(1)}\n`);
    assert.equal(mad(two, 0), untrained, 'both runs start from the same seed-initialised weights');
    assert.ok(a > untrained + 3 && b > untrained + 3, `both trained models beat the untrained one clearly: ${untrained.toFixed(1)} → ${a.toFixed(1)} / ${b.toFixed(1)}`);
    assert.ok(Math.abs(a - b) <= MAX_GAP, `one job ${a.toFixed(1)} vs two jobs ${b.toFixed(1)} mAD`);
  });
});

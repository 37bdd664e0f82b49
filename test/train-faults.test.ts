// Faults a distributed run must survive, against real Redis and an S3-compatible server:
// a worker killed with SIGKILL in the middle of a train-shard job (the job is found by another
// worker's stall check and resumes from its checkpoint), a worker stopped with SIGTERM (it
// hands the job back), every Redis connection dropped and S3 down for seconds mid-run, and a
// coordinator killed between rounds (`pmamba train --resume` finishes the run). Every stored
// object verifies afterwards.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Job, Queue } from 'bullmq';
import { Coordinator, planRun } from '@pmamba/coordinator';
import { readSafetensors, shutdownScanPool } from '@pmamba/model';
import { JobProgressSchema, layout, parseJobResult, parseRunManifest, redisConnectionFromUrl, type TrainShardPayload } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { WorkerRuntime } from '../packages/worker/src/runtime.ts';
import { trainShard } from '../packages/worker/src/train-shard.ts';
import { testRedis } from './support/redis.ts';
import { startS3Server, type S3TestServer } from './support/s3-server.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import { CLI, ROOT, spawnWorker, tinyConfig, verifyAll, type WorkerProcess } from './support/tiny-run.ts';

const run = promisify(execFile);
const redis = testRedis('faults');
/** Short locks so a dead worker's job moves on within seconds (a step takes longer than the lock: only sandboxing keeps it). */
const FAST_STALL = ['--lock-duration', '3000', '--stalled-interval', '1000'];
let s3: S3TestServer;
let dir: string;
let store: ArtifactStore;
const workers: WorkerProcess[] = [];
const alive = (w: WorkerProcess) => w.child.exitCode === null && w.child.signalCode === null;

before(async () => {
  s3 = await startS3Server();
  Object.assign(process.env, s3.env);
  dir = await mkdtemp(join(tmpdir(), 'pmamba-faults-'));
  store = await openStore(s3.storeUrl('faults'));
});

after(async () => {
  for (const w of workers) if (alive(w)) w.child.kill('SIGKILL');
  await shutdownScanPool();
  await store?.close();
  await redis.clear();
  await s3?.dispose();
  await rm(dir, { recursive: true, force: true });
});

function worker(extra: string[] = []): WorkerProcess {
  const w = spawnWorker({ redisUrl: redis.url, prefix: redis.prefix, storeUrl: s3.storeUrl('faults'), env: s3.env, extra: [...FAST_STALL, ...extra] });
  workers.push(w);
  return w;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('faults', () => {
  it('resumes a train-shard job from its checkpoint after its worker is killed with SIGKILL', async () => {
    const config = tinyConfig(join(dir, 'data'), s3.storeUrl('faults'), {
      training: { rounds: 1, localSteps: 6, batchSize: 1, workers: 1, checkpointEverySteps: 2 },
    });
    const record = await planRun(config, { runId: 'killed-worker' });
    const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
    const queue = new Queue('train-shard', { connection: redis.connection, prefix: redis.prefix });
    try {
      await coordinator.createRun(record);
      const first = worker(['--queues', 'teacher-pretrain,train-shard']);
      const outcome = coordinator.run(record);
      outcome.catch(() => undefined);
      // Past the checkpoint of step 2, mid-job: kill the worker and everything it forked.
      await until('step 3 of the job', 240_000, async () => {
        const job = await Job.fromId(queue, 'killed-worker.r0.w0');
        const p = JobProgressSchema.safeParse(job?.progress);
        return p.success && p.data.done >= 3 ? true : undefined;
      });
      first.child.kill('SIGKILL');
      await first.exited;
      assert.ok(await store.exists(layout.checkpointStateKey('killed-worker', 0, 'w0')));

      const second = worker();
      const result = await outcome;
      const shard = await store.getJson(layout.jobResultKey('killed-worker', 0, 'w0'), (v) => parseJobResult('train-shard', v));
      assert.ok(shard.resumedFromStep >= 2, `resumed from step ${shard.resumedFromStep}`);
      assert.equal(shard.steps, 6);
      // Images seen before the kill count too: 6 steps of 1 image.
      assert.equal(shard.samples, 6);
      assert.ok(second.lines.some((l) => /resuming from its checkpoint at step [24]\/6 with its optimiser state/.test(l)), second.lines.join('\n'));
      assert.equal(result.evaluations.length, 2);
      // The checkpoint is gone once the result is in; everything left verifies.
      assert.equal(await store.exists(layout.checkpointStateKey('killed-worker', 0, 'w0')), false);
      assert.ok((await verifyAll(store, 'runs/killed-worker/')) > 10);

      // The same job run here without interruption computes the very same weights: the
      // checkpoint restored the optimiser's moments, the lr step and the noise stream too.
      const payload = (await Job.fromId(queue, 'killed-worker.r0.w0'))!.data as TrainShardPayload;
      const clean = 'killed-worker-clean';
      const runtime = new WorkerRuntime({ storeUrl: s3.storeUrl('faults'), backend: 'wasm' }, () => undefined);
      const straight = await trainShard(
        {
          ...payload,
          runId: clean,
          outputKey: layout.jobWeightsKey(clean, 0, 'w0'),
          resultKey: layout.jobResultKey(clean, 0, 'w0'),
          checkpointKey: layout.checkpointWeightsKey(clean, 0, 'w0'),
          checkpointTrainerKey: layout.checkpointTrainerKey(clean, 0, 'w0'),
          checkpointStateKey: layout.checkpointStateKey(clean, 0, 'w0'),
          trainerOutputKey: layout.jobTrainerKey(clean, 0, 'w0'),
          initOutputKey: undefined,
        },
        { progress: async () => undefined, log: () => undefined },
        runtime,
      );
      assert.ok(!('handedBack' in straight) && straight.resumedFromStep === 0);
      const resumed = readSafetensors(await store.getBytes(shard.weights.key)).tensors;
      const uninterrupted = readSafetensors(await store.getBytes(straight.weights.key)).tensors;
      assert.deepEqual([...resumed.keys()], [...uninterrupted.keys()]);
      for (const [name, t] of resumed) assert.deepEqual(t.data, uninterrupted.get(name)!.data, name);
    } finally {
      await queue.close();
      await coordinator.close();
    }
  });

  it('hands a training job back on SIGTERM, and another worker resumes it where it stopped', async () => {
    const config = tinyConfig(join(dir, 'data'), s3.storeUrl('faults'), {
      training: { rounds: 1, localSteps: 6, batchSize: 1, workers: 1, checkpointEverySteps: 4 },
    });
    const record = await planRun(config, { runId: 'handed-back' });
    const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
    const queue = new Queue('train-shard', { connection: redis.connection, prefix: redis.prefix });
    for (const w of workers) if (alive(w)) w.child.kill('SIGKILL');
    try {
      await coordinator.createRun(record);
      const first = worker(['--queues', 'teacher-pretrain,train-shard']);
      const outcome = coordinator.run(record);
      outcome.catch(() => undefined);
      await until('step 2 of the job', 240_000, async () => {
        const job = await Job.fromId(queue, 'handed-back.r0.w0');
        const p = JobProgressSchema.safeParse(job?.progress);
        return p.success && p.data.done >= 2 ? true : undefined;
      });
      first.child.kill('SIGTERM');
      assert.equal(await first.exited, 0);
      const job = await Job.fromId(queue, 'handed-back.r0.w0');
      // Back in the queue, not failed, no attempt used.
      assert.ok(['waiting', 'prioritized'].includes(await job!.getState()), await job!.getState());
      assert.equal(job!.attemptsMade, 0);
      assert.ok(first.lines.some((l) => /handed back at step [2-5]/.test(l)), first.lines.join('\n'));

      worker();
      await outcome;
      const shard = await store.getJson(layout.jobResultKey('handed-back', 0, 'w0'), (v) => parseJobResult('train-shard', v));
      assert.ok(shard.resumedFromStep >= 2 && shard.resumedFromStep < 6, `resumed from step ${shard.resumedFromStep}`);
      assert.equal(shard.samples, 6);
    } finally {
      await queue.close();
      await coordinator.close();
    }
  });

  it('recovers when every Redis connection drops and when S3 is unreachable for a few seconds', async () => {
    const target = new URL(redis.url);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    const url = `redis://127.0.0.1:${proxy.port}`;
    const connection = redisConnectionFromUrl(url);
    const config = tinyConfig(join(dir, 'data'), s3.storeUrl('faults'), { training: { rounds: 2, localSteps: 3, batchSize: 1, workers: 1 } });
    const record = await planRun(config, { runId: 'outages' });
    const coordinator = new Coordinator({ connection, prefix: redis.prefix, store });
    const queue = new Queue('train-shard', { connection: redis.connection, prefix: redis.prefix });
    for (const w of workers) if (alive(w)) w.child.kill('SIGKILL');
    const w = spawnWorker({ redisUrl: url, prefix: redis.prefix, storeUrl: s3.storeUrl('faults'), env: s3.env, extra: FAST_STALL });
    workers.push(w);
    try {
      await coordinator.createRun(record);
      const outcome = coordinator.run(record);
      outcome.catch(() => undefined);
      const stepDone = (id: string) => async () => {
        const p = JobProgressSchema.safeParse((await Job.fromId(queue, id))?.progress);
        return p.success && p.data.done >= 1 ? true : undefined;
      };
      await until('round 1 step 1', 240_000, stepDone('outages.r0.w0'));
      const before = proxy.connections;
      await proxy.cut(2000);
      await until('round 2 step 1', 240_000, stepDone('outages.r1.w0'));
      await s3.stop();
      await new Promise((r) => setTimeout(r, 5000));
      await s3.start();
      const result = await outcome;
      assert.equal(result.manifest?.rounds, 2);
      // Everyone reconnected (ioredis queues commands meanwhile, so nothing needed to fail).
      assert.ok(proxy.connections > before, `${proxy.connections} connections, ${before} before the cut`);
      await verifyAll(store, 'runs/outages/');
    } finally {
      await queue.close();
      await coordinator.close();
      w.child.kill('SIGTERM');
      await w.exited;
      await proxy.close();
    }
  });

  it('finishes a run with `pmamba train --resume` after the coordinator is killed between rounds', async () => {
    const config = tinyConfig(join(dir, 'data'), s3.storeUrl('faults'), { run: { id: 'killed-coordinator' }, training: { rounds: 2, localSteps: 1, batchSize: 1, workers: 1 } });
    const path = join(dir, 'killed-coordinator.yaml');
    // JSON is YAML.
    await writeFile(path, JSON.stringify(config));
    if (!workers.some(alive)) worker();
    const common = ['--redis', redis.url, '--prefix', redis.prefix, '--store', s3.storeUrl('faults'), '--local-workers', '0'];
    const env = { ...process.env, ...s3.env };
    const coordinatorProcess = execFile(process.execPath, ['--import', 'tsx', CLI, 'train', '-c', path, ...common], { cwd: ROOT, env });
    await until('round 1 to finish', 240_000, async () => ((await store.exists(layout.roundManifestKey('killed-coordinator', 0))) ? true : undefined));
    coordinatorProcess.kill('SIGKILL');
    assert.equal(await store.exists(layout.runManifestKey('killed-coordinator')), false);

    const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, 'train', '--resume', 'killed-coordinator', ...common], { cwd: ROOT, env, maxBuffer: 1 << 24 });
    assert.match(stdout, /## killed-coordinator: after 2 of 2 round\(s\)/);
    assert.match(stdout, /mean mAD: untrained \d+\.\d% → trained \d+\.\d%/);
    const manifest = await store.getJson(layout.runManifestKey('killed-coordinator'), parseRunManifest);
    assert.equal(manifest.rounds, 2);
    await verifyAll(store, 'runs/killed-coordinator/');
  });
});

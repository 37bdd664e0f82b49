// Benchmark: what the distributed machinery costs around the model.
//   npx tsx bench/orchestration.bench.ts [--config configs/quickstart.yaml] [--workers 2] [--jobs 200] [--mb 53] [--skip-run]
// 1. Checkpoint transfer: upload + download MB/s of a checkpoint-sized object (the small
//    model's 53 MB) through S3 (s3rver on loopback) and the local-folder store, against a
//    plain file copy.
// 2. Job dispatch latency (job added → processor running) for an in-process processor, a
//    sandboxed one (child process, as train-shard and evaluate run), and a flow parent (last
//    child done → parent running).
// 3. Orchestration overhead of a demo run: wall time against time spent in model compute
//    (optimiser steps and inference, as the jobs measured them), with 2 `pmamba worker`
//    processes on Redis and a local store — the share of the workers' time that went elsewhere
//    (process start, weights and images I/O, checkpoints, aggregation, waiting).
// Uses REDIS_URL or 127.0.0.1:6379 (a private key prefix, deleted afterwards).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FlowProducer, Queue, QueueEvents, Worker, type Job } from 'bullmq';
import { Coordinator, planRun } from '../packages/coordinator/src/index.ts';
import { layout, loadRunConfig, parseEvaluationRecord, parseJobResult, parseRoundManifest, parseRunConfig, redisConnectionFromUrl } from '../packages/protocol/src/index.ts';
import { openStore } from '../packages/store/src/index.ts';
import { childExecArgv } from '../packages/worker/src/index.ts';
import { threadsPerProcess } from '../packages/model/src/threads/compute-threads.ts';
import { testRedis } from '../test/support/redis.ts';
import { startS3Server } from '../test/support/s3-server.ts';

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', default: 'configs/quickstart.yaml' },
    workers: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '200' },
    mb: { type: 'string', default: '53' },
    'skip-run': { type: 'boolean', default: false },
  },
});
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const redis = testRedis('bench');

const ms = (v: number) => `${v.toFixed(1)} ms`;
const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function machine(): void {
  const cpu = cpus()[0];
  console.log(`machine: ${cpu?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.versions.node}, ${process.platform}/${process.arch}`);
  console.log(`redis: ${redis.url}`);
}

async function demoOverhead(): Promise<void> {
  const workers = Number(args.workers);
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-bench-'));
  const storeUrl = `file://${join(dir, 'store')}`;
  const base = await loadRunConfig(join(ROOT, args.config!));
  const config = parseRunConfig({ ...base, store: { url: storeUrl }, dataset: { ...base.dataset, root: join(ROOT, base.dataset.root) } });
  const store = await openStore(storeUrl);
  const execArgv = childExecArgv(process.execArgv, import.meta.resolve('tsx'));
  // The cores split between the workers, as `pmamba train --local-workers` (the demo) does.
  const threads = threadsPerProcess(workers);
  const procs = Array.from({ length: workers }, () =>
    spawn(process.execPath, [...execArgv, CLI, 'worker', '--redis', redis.url, '--prefix', redis.prefix, '--store', storeUrl, '--backend', 'wasm', '--quiet'], {
      stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PMAMBA_THREADS: threads },
    }),
  );
  const coordinator = new Coordinator({ connection: redis.connection, prefix: redis.prefix, store });
  try {
    const record = await planRun(config, { runId: 'bench' });
    await coordinator.createRun(record);
    const t0 = performance.now();
    const outcome = await coordinator.run(record);
    const wall = performance.now() - t0;

    let compute = 0;
    const other = { dataMs: 0, storeMs: 0, modelLoadMs: 0 };
    let jobs = 0;
    for (let r = 0; r < record.plan.rounds; r++) {
      for (const model of record.plan.models) {
        const round = await store.getJson(layout.roundManifestKey('bench', r, model), parseRoundManifest);
        for (const { jobId } of round.jobs) {
          const result = await store.getJson(layout.jobResultKey('bench', r, jobId), (v) => parseJobResult('train-shard', v));
          jobs++;
          compute += result.timings?.computeMs ?? 0;
          for (const k of Object.keys(other) as (keyof typeof other)[]) other[k] += result.timings?.[k] ?? 0;
        }
      }
    }
    let evalCompute = 0;
    let evals = 0;
    for (const o of await store.list(layout.runPrefix('bench'))) {
      if (!o.key.endsWith('/metrics.json')) continue;
      const rec = await store.getJson(o.key, parseEvaluationRecord);
      evalCompute += rec.timings?.computeMs ?? 0;
      evals++;
    }
    const capacity = wall * workers;
    const busy = compute + evalCompute;
    console.log(`\n3. demo run (${args.config}, ${workers} worker processes of ${threads} thread(s), ${record.plan.rounds} rounds, ${jobs} train-shard + ${evals} evaluate jobs)`);
    console.log(`   wall time ${s(wall)}; model compute ${s(busy)} (training ${s(compute)}, inference ${s(evalCompute)})`);
    console.log(`   compute share of worker capacity (wall × ${workers}): ${((100 * busy) / capacity).toFixed(1)}% → orchestration overhead ${((100 * (capacity - busy)) / capacity).toFixed(1)}%`);
    console.log(`   inside train-shard jobs, besides compute: images ${s(other.dataMs)}, store I/O + checkpoints ${s(other.storeMs)}, model load ${s(other.modelLoadMs)}`);
    const final = outcome.evaluations.at(-1)!.result.table.mean.mad;
    const untrained = outcome.evaluations[0].result.table.mean.mad;
    console.log(`   mean mAD untrained ${((untrained ?? NaN) * 100).toFixed(1)}% → trained ${((final ?? NaN) * 100).toFixed(1)}%`);
  } finally {
    await coordinator.close();
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function dispatchLatency(): Promise<void> {
  const n = Number(args.jobs);
  const connection = redisConnectionFromUrl(redis.url);
  const opts = { connection, prefix: redis.prefix };
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-bench-'));
  const processor = join(dir, 'noop.mjs');
  await writeFile(processor, 'export default async () => Date.now();\n');
  console.log(`\n2. dispatch latency, ${n} jobs each, added one at a time (job added → processor running)`);
  for (const kind of ['in-process', 'sandboxed'] as const) {
    const queue = new Queue(`bench-${kind}`, opts);
    const worker = new Worker(queue.name, kind === 'in-process' ? async () => Date.now() : processor, { ...opts, concurrency: 1 });
    const events = new QueueEvents(queue.name, opts);
    await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const added = Date.now();
      const job = await queue.add('noop', {});
      const startedAt = (await job.waitUntilFinished(events)) as number;
      if (i > 0) lat.push(startedAt - added); // the first sandboxed job also forks its process
    }
    console.log(`   ${kind.padEnd(10)} median ${ms(quantile(lat, 0.5))}, p95 ${ms(quantile(lat, 0.95))}`);
    await worker.close();
    await events.close();
    await queue.close();
  }
  const flows = new FlowProducer(opts);
  const parents = new Queue('bench-parent', opts);
  const pEvents = new QueueEvents('bench-parent', opts);
  const childWorker = new Worker('bench-child', async () => Date.now(), { ...opts, concurrency: 4 });
  const parentWorker = new Worker('bench-parent', async (job: Job) => {
    const values = Object.values(await job.getChildrenValues()) as number[];
    return Date.now() - Math.max(...values);
  }, opts);
  await Promise.all([childWorker.waitUntilReady(), parentWorker.waitUntilReady(), pEvents.waitUntilReady()]);
  const lat: number[] = [];
  for (let i = 0; i < Math.min(n, 100); i++) {
    const node = await flows.add({ name: 'p', queueName: 'bench-parent', children: [0, 1].map((c) => ({ name: 'c', queueName: 'bench-child', data: { c } })) });
    lat.push((await node.job.waitUntilFinished(pEvents)) as number);
  }
  console.log(`   flow parent (last child done → parent running): median ${ms(quantile(lat, 0.5))}, p95 ${ms(quantile(lat, 0.95))}`);
  await Promise.all([childWorker.close(), parentWorker.close(), pEvents.close(), parents.close(), flows.close()]);
  await rm(dir, { recursive: true, force: true });
}

async function checkpointTransfer(): Promise<void> {
  const bytes = randomBytes(Number(args.mb) * 2 ** 20);
  const mb = bytes.length / 2 ** 20;
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-bench-'));
  const s3 = await startS3Server();
  const rounds = 3;
  console.log(`\n1. checkpoint transfer, ${mb.toFixed(0)} MiB object, best of ${rounds} (upload + download, hashes verified by the store)`);
  const rate = (t: number) => `${(mb / (t / 1000)).toFixed(0)} MB/s`;
  try {
    const stores = [
      ['S3 (s3rver)', await openStore(s3.storeUrl('bench'), { env: s3.env })],
      ['local store', await openStore(`file://${join(dir, 'store')}`)],
    ] as const;
    for (const [label, store] of stores) {
      let up = Infinity;
      let down = Infinity;
      for (let i = 0; i < rounds; i++) {
        let t = performance.now();
        await store.putBytes('bench/checkpoint.safetensors', bytes);
        up = Math.min(up, performance.now() - t);
        t = performance.now();
        const back = await store.getBytes('bench/checkpoint.safetensors');
        down = Math.min(down, performance.now() - t);
        if (back.length !== bytes.length) throw new Error(`${label}: read ${back.length} bytes of ${bytes.length}`);
      }
      console.log(`   ${label.padEnd(12)} upload ${rate(up)} (${ms(up)}), download ${rate(down)} (${ms(down)})`);
      await store.close();
    }
    const src = join(dir, 'plain.bin');
    await writeFile(src, bytes);
    let copy = Infinity;
    let read = Infinity;
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      await copyFile(src, join(dir, `copy${i}.bin`));
      copy = Math.min(copy, performance.now() - t);
      t = performance.now();
      await readFile(join(dir, `copy${i}.bin`));
      read = Math.min(read, performance.now() - t);
    }
    console.log(`   ${'file copy'.padEnd(12)} copy ${rate(copy)} (${ms(copy)}), read ${rate(read)} (${ms(read)})`);
  } finally {
    await s3.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

machine();
try {
  await checkpointTransfer();
  await dispatchLatency();
  if (!args['skip-run']) await demoOverhead();
} finally {
  await redis.clear();
}

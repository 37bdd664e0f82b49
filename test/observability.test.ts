// Observability on a real tiny run: `pmamba train --metrics-port` (the coordinator) and a
// `pmamba worker --metrics-port` (through a TCP proxy, so its Redis can be cut) on real Redis
// and a file store. One run serves every check: /metrics names and values of both processes
// during and after the run, the worker's JSON log lines with run, round, job and worker ids,
// /healthz going 503 while Redis is unreachable and 200 again after, and `pmamba status`.
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { testRedis } from './support/redis.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';
import { CLI, ROOT, spawnWorker, tinyConfig, type WorkerProcess } from './support/tiny-run.ts';

const run = promisify(execFile);
const redis = testRedis('observability');
const RUN = 'obs';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The value of the first sample of `name` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let dir: string;
let storeUrl: string;
let proxy: TcpProxy;
let worker: WorkerProcess;
let workerMetrics: string;
let coordinatorScrape = '';
let coordinatorHealth = 0;
let trainOut = { code: -1 as number | null, stdout: '', stderr: '' };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-observability-'));
  storeUrl = `file://${join(dir, 'store')}`;
  // A seed-initialised teacher: one job kind less to wait for (teacher-pretrain is the same code path as training).
  const config = tinyConfig(join(dir, 'data'), storeUrl, { run: { id: RUN }, model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, teacher: { init: 'random' } } });
  const configPath = join(dir, 'obs.yaml');
  await writeFile(configPath, JSON.stringify(config)); // JSON is YAML

  const target = new URL(redis.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
  const proxied = new URL(redis.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const [workerPort, trainPort] = [await freePort(), await freePort()];
  workerMetrics = `http://127.0.0.1:${workerPort}`;
  worker = spawnWorker({
    redisUrl: proxied.href,
    prefix: redis.prefix,
    storeUrl,
    extra: ['--concurrency', '2', '--name', 'obs-worker', '--metrics-port', String(workerPort), '--metrics-host', '127.0.0.1'],
  });
  await until('the worker to be healthy', 30_000, async () => ((await get(`${workerMetrics}/healthz`)).status === 200 ? true : undefined));

  const train = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'train', '-c', configPath, '--redis', redis.url, '--prefix', redis.prefix, '--store', storeUrl, '--local-workers', '0', '--metrics-port', String(trainPort), '--metrics-host', '127.0.0.1'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  train.stdout.on('data', (b: Buffer) => (stdout += b));
  train.stderr.on('data', (b: Buffer) => (stderr += b));
  const exited = new Promise<number | null>((r) => train.once('exit', (code) => r(code)));
  // Scrape the coordinator while it runs; keep the last scrape that saw a train-shard job complete.
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    try {
      const h = await get(`http://127.0.0.1:${trainPort}/healthz`);
      if (h.status === 200) coordinatorHealth = 200;
      const m = await get(`http://127.0.0.1:${trainPort}/metrics`);
      if ((sample(m.text, 'pmamba_jobs_completed_total', { queue: 'train-shard' }) ?? 0) >= 1) coordinatorScrape = m.text;
    } catch {
      // not listening yet, or already closed
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  trainOut = { code: await exited, stdout, stderr };
});

after(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await proxy?.close();
  await redis.clear();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('observability of a tiny run', () => {
  it('the run finishes', () => {
    assert.equal(trainOut.code, 0, `${trainOut.stderr}\n${worker.lines.slice(-30).join('\n')}`);
    assert.match(trainOut.stdout, /## obs: after 2 of 2 round\(s\)/);
    assert.match(trainOut.stderr, /pmamba: metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
  });

  it('the coordinator served /healthz and /metrics with every worker\'s jobs while it ran', () => {
    assert.equal(coordinatorHealth, 200);
    assert.ok(coordinatorScrape, 'a scrape saw a train-shard job complete');
    for (const queue of ['teacher-pretrain', 'train-shard', 'aggregate', 'fit-map', 'evaluate', 'report']) {
      assert.notEqual(sample(coordinatorScrape, 'bullmq_job_count', { queue, state: 'active', prefix: redis.prefix }), undefined, `depth of ${queue}`);
    }
    assert.ok(sample(coordinatorScrape, 'pmamba_train_loss', { queue: 'train-shard' })! > 0);
    assert.ok(sample(coordinatorScrape, 'pmamba_train_step_seconds_count', { queue: 'train-shard' })! > 0);
    assert.equal(sample(coordinatorScrape, 'pmamba_redis_up'), 1);
  });

  it('the worker\'s /metrics counts its jobs, step times, rates and loss, beside the queue depth', async () => {
    const { status, text } = await get(`${workerMetrics}/metrics`);
    assert.equal(status, 200);
    assert.equal(sample(text, 'pmamba_jobs_completed_total', { queue: 'teacher-pretrain' }), 0);
    assert.equal(sample(text, 'pmamba_jobs_completed_total', { queue: 'train-shard' }), 4, '2 rounds × 2 shards');
    assert.ok(sample(text, 'pmamba_jobs_completed_total', { queue: 'evaluate' })! >= 4, 'untrained and trained, × 2 classes');
    assert.equal(sample(text, 'pmamba_jobs_failed_total', { queue: 'train-shard' }), 0);
    assert.ok(sample(text, 'pmamba_train_step_seconds_count', { queue: 'train-shard' })! >= 4);
    assert.ok(sample(text, 'pmamba_train_step_seconds_sum', { queue: 'train-shard' })! > 0);
    assert.ok(sample(text, 'pmamba_images_per_second', { queue: 'train-shard' })! > 0);
    assert.ok(sample(text, 'pmamba_images_per_second', { queue: 'evaluate' })! > 0);
    assert.ok(sample(text, 'pmamba_train_loss', { queue: 'train-shard' })! > 0);
    assert.equal(sample(text, 'bullmq_job_count', { queue: 'train-shard', state: 'completed' }), 4);
    assert.equal(sample(text, 'bullmq_job_count', { queue: 'evaluate', state: 'active' }), 0);
    assert.equal(sample(text, 'pmamba_redis_up'), 1);
    assert.notEqual(sample(text, 'process_resident_memory_bytes'), undefined);
    // One HELP per family: a scrape Prometheus accepts.
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => l.split(' ')[2]);
    assert.equal(new Set(helps).size, helps.length);
  });

  it('the worker logs JSON lines with run, round, job and worker ids', () => {
    const events = worker.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const finished = events.filter((e) => e.event === 'completed' && e.queue === 'train-shard');
    assert.equal(finished.length, 4, worker.lines.join('\n'));
    for (const e of finished) {
      assert.equal(e.run, RUN);
      assert.ok(e.round === 0 || e.round === 1);
      assert.match(String(e.job), /^obs\.r[01]\.w[01]$/);
      assert.equal(e.worker, 'obs-worker');
      assert.match(String(e.msg), /^finished train-shard job obs\.r[01]\.w[01] in \d+\.\d s$/);
      assert.equal(typeof e.ms, 'number');
    }
    const evaluations = events.filter((e) => e.event === 'completed' && e.queue === 'evaluate');
    assert.ok(evaluations.every((e) => e.run === RUN && typeof e.evalRound === 'number'));
    assert.ok(events.some((e) => e.event === 'started' && e.worker === 'obs-worker'));
  });

  it('pmamba status prints the rounds, the jobs and the final metrics', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, 'status', RUN, '--store', storeUrl, '--redis', redis.url, '--prefix', redis.prefix], { cwd: ROOT });
    assert.match(stdout, /^run obs: finished at \d{4}-/);
    assert.match(stdout, /unified mode, 2 class\(es\)/);
    assert.match(stdout, /^rounds: 2\/2 done \(last round loss \d+\.\d{4}\)$/m);
    assert.match(stdout, /^jobs \(prefix pmamba-test-observability-\w+\): 0 active, 0 waiting, 0 waiting for children, 0 delayed, 0 failed, \d+ completed$/m);
    assert.match(stdout, /workers: teacher-pretrain 1, train-shard 1, aggregate 0, fit-map 1, evaluate 1, report 0/);
    assert.match(stdout, /^evaluated: untrained, after round 2$/m);
    assert.match(stdout, /latest metrics \(after 2 of 2 round\(s\); run manifest\):/);
    assert.match(stdout, /^\| \*\*mean\*\* \|/m);
  });

  it('pmamba status --json, and without Redis the store\'s part alone', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, 'status', RUN, '--store', storeUrl, '--redis', redis.url, '--prefix', redis.prefix, '--json'], { cwd: ROOT });
    const s = JSON.parse(stdout) as {
      state: string;
      rounds: number;
      models: Record<string, { done: number; loss: number }>;
      evaluated: number[];
      metrics: { source: string; atRound: number; table: { mean: Record<string, number | null>; classes: Record<string, unknown> } };
      jobs: { total: Record<string, number>; byQueue: Record<string, Record<string, number>> };
    };
    assert.equal(s.state, 'finished');
    assert.equal(s.models.unified.done, 2);
    assert.deepEqual(s.evaluated, [0, 2]);
    assert.equal(s.metrics.source, 'run manifest');
    assert.equal(s.metrics.atRound, 2);
    assert.equal(Object.keys(s.metrics.table.classes).length, 2);
    assert.equal(typeof s.metrics.table.mean.mad, 'number');
    assert.equal(s.jobs.byQueue['train-shard'].completed, 4);
    assert.equal(s.jobs.total.failed, 0);

    const env = { ...process.env };
    delete env.REDIS_URL;
    const plain = await run(process.execPath, ['--import', 'tsx', CLI, 'status', RUN, '--store', storeUrl], { cwd: ROOT, env });
    assert.match(plain.stdout, /^run obs: finished/);
    assert.match(plain.stdout, /^jobs: not checked \(no Redis URL/m);
  });

  it('the worker\'s /healthz is 503 while Redis is unreachable and 200 again after', async () => {
    const ok = await get(`${workerMetrics}/healthz`);
    assert.equal(ok.status, 200);
    const body = JSON.parse(ok.text) as { ok: boolean; redis: string; queues: string[]; uptime: number; worker: string };
    assert.deepEqual([body.ok, body.redis, body.worker], [true, 'ready', 'obs-worker']);
    assert.deepEqual(body.queues, ['teacher-pretrain', 'train-shard', 'fit-map', 'evaluate']);
    assert.equal(typeof body.uptime, 'number');

    const cut = proxy.cut(4000);
    const down = await until('/healthz 503', 3500, async () => {
      const h = await get(`${workerMetrics}/healthz`);
      return h.status === 503 ? h : undefined;
    });
    assert.equal((JSON.parse(down.text) as { ok: boolean }).ok, false);
    const metrics = await get(`${workerMetrics}/metrics`);
    assert.equal(metrics.status, 200, 'metrics still answer without Redis');
    assert.equal(sample(metrics.text, 'pmamba_redis_up'), 0);
    await cut;
    await until('/healthz 200 after the cut', 20_000, async () => ((await get(`${workerMetrics}/healthz`)).status === 200 ? true : undefined));
  });

  it('the worker stops on SIGTERM, and says so in a JSON line', async () => {
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0);
    const last = JSON.parse(worker.lines.filter((l) => l.startsWith('{')).at(-1)!) as { event: string; msg: string };
    assert.deepEqual([last.event, last.msg], ['stopped', 'stopped']);
  });
});

// pmamba on a real Redis Cluster: three redis-server masters (cluster mode, a password, no
// persistence) joined by `redis-cli --cluster create`, reached through a redis+cluster:// URL.
// A tiny `pmamba train` — its coordinator, its local worker process and its /metrics all on the
// cluster, under a hash-tagged prefix — runs to the end with every key in the tag's slot; then
// `pmamba status` and the dashboard read the run's jobs from the cluster. The mistakes fail at once, saying what
// to do: an untagged prefix, and a redis:// URL naming one node of the cluster.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { parseRedisUrl } from '@pmamba/protocol';
import { startDashboard } from '../packages/cli/src/dashboard/server.ts';
import { closeQueueConnection, queueConnection } from '../packages/cli/src/redis-client.ts';
import { startRedisCluster, type RedisCluster } from './support/redis-cluster.ts';
import { CLI, ROOT, tinyConfig } from './support/tiny-run.ts';

const execAsync = promisify(execFile);
const RUN = 'on-cluster';
// Unencoded, the password holds URL delimiters: the URL carries it %-encoded to every process.
const PASSWORD = `p@ss/${randomBytes(6).toString('hex')}`;
const PREFIX = `{pmamba-${randomBytes(4).toString('hex')}}`;

let cluster: RedisCluster;
let dir: string;
let storeUrl: string;
let configPath: string;
/** The environment of every pmamba process: no REDIS_URL from outside. */
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.REDIS_URL;
delete env.REDIS_PASSWORD;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs `pmamba …` to its end. */
async function pmamba(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execAsync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pmamba-cluster-'));
  storeUrl = `file://${join(dir, 'store')}`;
  cluster = await startRedisCluster({ password: PASSWORD });
  // The smallest real run: one class, one round of one step by one worker, a seeded teacher.
  const config = tinyConfig(join(dir, 'data'), storeUrl, {
    run: { id: RUN },
    dataset: { root: join(dir, 'data'), imageSize: 32, synthetic: { classes: 1, size: 32, train: 2, test: 4, seed: 3 } },
    model: { preset: 'small', pyramid: { mode: 'levels', levels: [1, 2, 2, 2] }, teacher: { init: 'random' } },
    training: { mode: 'unified', rounds: 1, localSteps: 1, batchSize: 2, workers: 1, checkpointEverySteps: 1, seed: 5 },
    evaluation: { batchSize: 4, heatmaps: 0, blurSigma: 1, reportFormats: ['json'] },
  });
  configPath = join(dir, 'run.json');
  await writeFile(configPath, JSON.stringify(config)); // JSON is YAML
});

after(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('pmamba on a Redis Cluster', () => {
  it('refuses an untagged prefix at once, saying which one to use', async () => {
    const r = await pmamba(['worker', '--redis', cluster.url, '--store', storeUrl, '--backend', 'wasm']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /hash-tagged BullMQ prefix/);
    assert.match(r.stderr, /--prefix '\{pmamba\}'/);
    assert.match(r.stderr, /\[E_REDIS_PREFIX\]/);
    assert.ok(!r.stderr.includes(PASSWORD) && !r.stderr.includes(encodeURIComponent(PASSWORD)), 'no password in the message');
  });

  let train = { code: -1 as number | null, stdout: '', stderr: '' };
  let health = 0;
  let depthSeen = false;

  it('runs a tiny `pmamba train` to the end: coordinator, local worker and metrics on the cluster', { timeout: 240_000 }, async () => {
    const metricsPort = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import', 'tsx', CLI, 'train', '-c', configPath,
        '--redis', cluster.url, '--prefix', PREFIX, '--store', storeUrl,
        '--local-workers', '1', '--backend', 'wasm',
        '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1',
      ],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let running = true;
    void exited.then(() => (running = false));
    // The coordinator's /healthz (its depth reader's Cluster) and /metrics while it runs.
    while (running) {
      try {
        if ((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status === 200) health = 200;
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        if (text.includes(`prefix="${PREFIX}"`) && /^bullmq_job_count\{/m.test(text)) depthSeen = true;
      } catch {
        // not listening yet, or already closed
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    train = { code: await exited, stdout, stderr };
    assert.equal(train.code, 0, `${stderr.slice(-4000)}`);
    assert.match(train.stdout, new RegExp(`## ${RUN}: after 1 of 1 round\\(s\\)`));
    assert.match(train.stderr, /\[worker 1\] .*serving .* on redis\+cluster:\/\/\*\*\*@127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ \(prefix \{pmamba-/);
    assert.ok(!`${train.stdout}${train.stderr}`.includes(PASSWORD.slice(5)), 'the password is never printed');
    assert.equal(health, 200, '/healthz was 200 while the run went on');
    assert.ok(depthSeen, '/metrics had the queue depth of the prefix');
  });

  it("keeps every key of the run in the prefix's hash slot, on one node", async () => {
    assert.equal(train.code, 0, 'the run finished');
    const perNode = await Promise.all(cluster.ports.map(async (port) => (await cluster.cli(port, 'KEYS', `${PREFIX}:*`)).split('\n').filter(Boolean)));
    const keys = perNode.flat();
    assert.ok(keys.length > 10, `the run's BullMQ keys: ${keys.length}`);
    assert.equal(perNode.filter((k) => k.length > 0).length, 1, `one node holds them all: ${perNode.map((k) => k.length).join(', ')}`);
    const slots = new Set(await Promise.all(keys.slice(0, 20).map(async (k) => (await cluster.cli(cluster.ports[0], 'CLUSTER', 'KEYSLOT', k)).trim())));
    assert.equal(slots.size, 1);
  });

  it('`pmamba status` reads the run\'s jobs from the cluster', async () => {
    assert.equal(train.code, 0, 'the run finished');
    const r = await pmamba(['status', RUN, '--store', storeUrl, '--redis', cluster.url, '--prefix', PREFIX, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout) as { jobs: { prefix: string; total: Record<string, number> } | null; jobsNote?: string };
    assert.equal(status.jobsNote, undefined);
    assert.equal(status.jobs?.prefix, PREFIX);
    // Train-shard, aggregate, evaluate (untrained and trained) and report jobs, all completed.
    assert.ok(status.jobs!.total.completed >= 4, JSON.stringify(status.jobs));
    assert.equal(status.jobs!.total.failed, 0);
  });

  it('the dashboard shows the queues of the prefix on the cluster', async () => {
    assert.equal(train.code, 0, 'the run finished');
    const connection = queueConnection(parseRedisUrl(cluster.url, {}));
    const dashboard = await startDashboard({ connection, prefix: PREFIX, port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${dashboard.url}api/queues`);
      assert.equal(res.status, 200);
      const { queues } = (await res.json()) as { queues: { name: string; counts: Record<string, number> }[] };
      const counts = Object.fromEntries(queues.map((q) => [q.name, q.counts]));
      assert.equal(counts['train-shard'].completed, 1, JSON.stringify(counts));
      assert.equal(counts.evaluate.completed, 2, JSON.stringify(counts)); // untrained and trained
    } finally {
      await dashboard.close();
      await closeQueueConnection(connection);
    }
  });

  it("refuses a redis:// URL of one of the cluster's nodes, naming the cluster URL to use", async () => {
    const node = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.ports[0]}`;
    const r = await pmamba(['status', RUN, '--store', storeUrl, '--redis', node, '--prefix', PREFIX, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout) as { jobs: unknown; jobsNote?: string };
    assert.equal(status.jobs, null);
    assert.match(status.jobsNote ?? '', /is a node of a Redis Cluster.*redis\+cluster:\/\//);
  });
});

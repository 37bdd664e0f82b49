// No secret is ever printed, served or written: a worker (with --metrics-port) and a dashboard
// (with --basic-auth) on a password-protected Redis (a private redis-server with requirepass), a
// worker whose S3 store fails with an AWS secret in its environment, and commands given a wrong
// password. Every line printed, every HTTP answer and every file in the test's folder is searched
// for the Redis password, the dashboard password and the AWS secret.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, it } from 'node:test';
import { Queue } from 'bullmq';
import { redisConnectionFromUrl, type EvaluatePayload } from '@pmamba/protocol';
import { startPrivateRedis, type RedisService } from '../src/redis.ts';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const PREFIX = 'pmamba-secrets';
const AWS_SECRET = `aws-secret-${randomBytes(12).toString('hex')}`;
const DASHBOARD_PASSWORD = `dash-${randomBytes(12).toString('hex')}`;
const WRONG_PASSWORD = `wrong-${randomBytes(12).toString('hex')}`;

/** The protocol package's example payloads: outside this package's TypeScript project, so loaded by URL. */
const examples = new URL('../../protocol/test/support/examples.ts', import.meta.url).href;

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

let redis: RedisService;
let dir: string;
const procs: Proc[] = [];
/** Everything the processes printed and the servers answered. */
const seen: string[] = [];

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'AKIAPMAMBATEST',
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_REGION: 'us-east-1',
    S3_ENDPOINT: 'http://127.0.0.1:9', // nothing listens: every store call fails
    S3_FORCE_PATH_STYLE: 'true',
  };
  delete e.REDIS_URL;
  return e;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: env() });
  const lines: string[] = [];
  for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', (l) => lines.push(l));
  const p = { child, lines, exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
  procs.push(p);
  return p;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(p: Proc, pattern: RegExp, ms = 60_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = p.lines.find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > deadline || p.child.exitCode !== null) throw new Error(`no line ${pattern}:\n${p.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  seen.push(text);
  return { status: res.status, text };
}

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

before(async () => {
  redis = await startPrivateRedis();
  dir = await mkdtemp(join(tmpdir(), 'pmamba-secrets-'));
});

after(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('a worker, its metrics, a dashboard and failing commands never show a password or the AWS secret', { timeout: 110_000 }, async () => {
  const password = new URL(redis.url).password;
  assert.ok(password.length >= 32, 'the private Redis has a password');
  const metricsPort = await freePort();
  const worker = start(['worker', '--redis', redis.url, '--prefix', PREFIX, '--store', 's3://pmamba-secrets/runs', '--backend', 'wasm', '--queues', 'evaluate', '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1']);
  const dashboard = start(['dashboard', '--port', '0', '--redis', redis.url, '--prefix', PREFIX, '--basic-auth', `admin:${DASHBOARD_PASSWORD}`]);
  await waitFor(worker, /"event":"metrics"/);
  const dashboardUrl = /(http:\/\/\S+\/)/.exec(await waitFor(dashboard, /http:\/\/\S+\//))![1];

  // A job whose store calls fail (S3 is down), with the secret in the worker's environment.
  const { PAYLOADS } = (await import(examples)) as { PAYLOADS: { evaluate: EvaluatePayload } };
  const queue = new Queue('evaluate', { connection: redisConnectionFromUrl(redis.url), prefix: PREFIX });
  try {
    const job = await queue.add('evaluate', PAYLOADS.evaluate, { jobId: 'secrets.e0.evaluate-c0', attempts: 1 });
    const deadline = Date.now() + 60_000;
    while ((await job.getState()) !== 'failed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    assert.equal(await job.getState(), 'failed', worker.lines.join('\n'));
    seen.push((await queue.getJobLogs(job.id!)).logs.join('\n'));
  } finally {
    await queue.close();
  }
  await waitFor(worker, /"event":"failed".*secrets\.e0\.evaluate-c0/);

  // What the servers answer.
  assert.equal((await fetchText(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200);
  assert.match((await fetchText(`http://127.0.0.1:${metricsPort}/metrics`)).text, /pmamba_jobs_failed_total\{queue="evaluate"\} 1/);
  const auth = { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` };
  assert.equal((await fetchText(dashboardUrl)).status, 401);
  assert.equal((await fetchText(dashboardUrl, auth)).status, 200);
  assert.match((await fetchText(`${dashboardUrl}api/queues?activeQueue=evaluate&status=failed`, auth)).text, /secrets\.e0\.evaluate-c0/);
  await fetchText(`${dashboardUrl}api/redis/stats`, auth);

  // Commands given a wrong password fail, naming the URL masked.
  const wrong = redis.url.replace(password, WRONG_PASSWORD);
  for (const args of [
    ['worker', '--redis', wrong, '--prefix', PREFIX, '--store', `file://${dir}/store`],
    ['dashboard', '--port', '0', '--redis', wrong],
  ]) {
    const p = start(args);
    assert.equal(await p.exited, 1, p.lines.join('\n'));
    assert.match(p.lines.join('\n'), /cannot reach Redis at redis:\/\/\*\*\*@127\.0\.0\.1:\d+/);
  }
  // A status of a run that is not there, with the Redis URL given.
  const status = await new Promise<string>((resolve) =>
    execFile(process.execPath, ['--import', 'tsx', CLI, 'status', 'nothing-here', '--store', `file://${dir}/store`, '--redis', redis.url], { cwd: ROOT, env: env() }, (_e, out, err) => resolve(`${out}${err}`)),
  );
  seen.push(status);

  worker.child.kill('SIGTERM');
  dashboard.child.kill('SIGINT');
  assert.equal(await worker.exited, 0);
  assert.equal(await dashboard.exited, 0);

  const printed = procs.flatMap((p) => p.lines);
  assert.ok(printed.some((l) => l.includes('redis://***@127.0.0.1')), 'the Redis URL is printed, masked');
  const files = await filesUnder(dir);
  const written = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  const everything = [...printed, ...seen, ...written].join('\n');
  for (const [what, secret] of [['Redis password', password], ['dashboard password', DASHBOARD_PASSWORD], ['AWS secret', AWS_SECRET], ['wrong password', WRONG_PASSWORD]]) {
    assert.ok(!everything.includes(secret), `the ${what} appears in:\n${everything.split('\n').filter((l) => l.includes(secret)).join('\n')}`);
  }
});

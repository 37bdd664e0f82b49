// `pmamba dashboard` as a user starts it: bull-board over every pmamba queue of a prefix, behind
// basic auth when asked, read-only by default, on real Redis (REDIS_URL or 127.0.0.1:6379) under a
// prefix of this test's own.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redisConnectionFromUrl } from '@pmamba/protocol';
import { startDashboard } from '../src/dashboard/server.ts';

const ROOT = join(import.meta.dirname, '../../..');
const CLI = join(ROOT, 'packages/cli/src/main.ts');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const connection = redisConnectionFromUrl(REDIS_URL);
const prefix = `pmamba-test-dashboard-${randomBytes(4).toString('hex')}`;
const password = `pw-${randomBytes(8).toString('hex')}`;
const QUEUES = ['aggregate', 'evaluate', 'fit-map', 'report', 'schedule', 'teacher-pretrain', 'train-shard'];

let child: ChildProcess;
const lines: string[] = [];
let url: string;
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

async function clearPrefix(): Promise<void> {
  const client = new Redis(connection);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

before(async () => {
  const queue = new Queue('evaluate', { connection, prefix });
  await queue.add('evaluate', { runId: 'dash' }, { jobId: 'dash.e0.evaluate-c0' });
  await queue.close();
  child = spawn(process.execPath, ['--import', 'tsx', CLI, 'dashboard', '--port', '0', '--basic-auth', `admin:${password}`, '--redis', REDIS_URL, '--prefix', prefix], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', (l) => lines.push(l));
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed in 30 s:\n${lines.join('\n')}`)), 30_000);
    const poll = setInterval(() => {
      const m = lines.map((l) => /(http:\/\/\S+\/)/.exec(l)).find((x) => x);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1]);
      }
    }, 50);
    child.once('exit', (code) => reject(new Error(`dashboard exited (${code}):\n${lines.join('\n')}`)));
  });
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
  await clearPrefix();
});

describe('pmamba dashboard', () => {
  it('prints where it listens, without credentials', () => {
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const text = lines.join('\n');
    assert.match(text, /read-only/);
    assert.ok(!text.includes(password), text);
  });

  it('answers 401 with a Basic challenge without the right credentials', async () => {
    const none = await fetch(url);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    assert.equal((await fetch(`${url}api/queues`, { headers: basic('admin', 'wrong') })).status, 401);
    assert.equal((await fetch(`${url}api/queues`, { headers: basic('someone', password) })).status, 401);
  });

  it('serves the bull-board page with the credentials', async () => {
    const res = await fetch(url, { headers: basic('admin', password) });
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<title>pmamba · pmamba-test-dashboard-/);
    assert.ok(!html.includes(password));
  });

  it('lists every pmamba queue of the prefix, with its jobs, read-only', async () => {
    const res = await fetch(`${url}api/queues`, { headers: basic('admin', password) });
    assert.equal(res.status, 200);
    const { queues } = (await res.json()) as { queues: { name: string; readOnlyMode: boolean; counts: Record<string, number> }[] };
    assert.deepEqual(queues.map((q) => q.name).sort(), QUEUES);
    assert.ok(queues.every((q) => q.readOnlyMode));
    assert.equal(queues.find((q) => q.name === 'evaluate')!.counts.waiting, 1);
    // An action is refused, and nothing changed.
    const pause = await fetch(`${url}api/queues/evaluate/pause`, { method: 'PUT', headers: basic('admin', password) });
    assert.equal(pause.status, 405);
    const queue = new Queue('evaluate', { connection, prefix });
    assert.equal(await queue.isPaused(), false);
    await queue.close();
  });
});

describe('startDashboard', () => {
  it('serves without auth when none is set, and allows actions when writable', async () => {
    const d = await startDashboard({ connection, prefix, port: 0, host: '127.0.0.1', writable: true });
    try {
      const res = await fetch(`${d.url}api/queues`);
      assert.equal(res.status, 200);
      const { queues } = (await res.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
      assert.ok(queues.every((q) => !q.readOnlyMode));
    } finally {
      await d.close();
    }
  });
});

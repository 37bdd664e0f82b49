/**
 * The wasm backend on several threads (src/threads/wasm-threads.ts): it starts under Node, says
 * so, computes what the one-thread build computes bit for bit, really uses a second thread, and
 * lets the process exit. Each case runs in a child process: a backend starts once per process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = (spec: string) => JSON.stringify(import.meta.resolve(spec));

// A convolution, a matMul and a conv gradient (the custom 3×3 filter gradient is nine matMuls).
// Prints the backend line, a hash of every output's bytes, and the share of the timed loop's CPU
// time that the busiest thread other than the main one spent (Linux: /proc/self/task).
const SCRIPT = `
  import * as tf from ${url('@tensorflow/tfjs-core')};
  import { createHash } from 'node:crypto';
  import { readdirSync, readFileSync } from 'node:fs';
  const ticks = () => new Map(readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 on: utime is 14, stime 15
    return [tid, Number(f[11]) + Number(f[12])];
  }));
  import { useBackend } from ${url('../src/index.ts')};
  import { conv2d } from ${url('../src/ops/conv2d.ts')};
  await useBackend('auto', (m) => console.log(m));
  const x = tf.randomNormal([2, 32, 32, 64], 0, 1, 'float32', 1);
  const f = tf.randomNormal([3, 3, 64, 64], 0, 1, 'float32', 2);
  const a = tf.randomNormal([2048, 256], 0, 1, 'float32', 3);
  const b = tf.randomNormal([256, 256], 0, 1, 'float32', 4);
  const outs = () => [tf.conv2d(x, f, 1, 'same'), tf.matMul(a, b), tf.grad((w) => tf.sum(tf.square(conv2d(x, w, 1, 1))))(f)];
  const hash = createHash('sha256');
  for (const t of outs()) hash.update(new Uint8Array(t.dataSync().buffer));
  console.log('hash', hash.digest('hex'));
  const before = ticks();
  for (let i = 0; i < 20; i++) tf.dispose(outs());
  const spent = [...ticks()].map(([tid, t]) => [tid, t - (before.get(tid) ?? 0)]);
  const total = spent.reduce((s, [, t]) => s + t, 0);
  const other = Math.max(...spent.filter(([tid]) => tid !== String(process.pid)).map(([, t]) => t));
  console.log('helper-share', (other / total).toFixed(2));
`;

function run(threads: string): { lines: string[]; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pmamba-wasm-threads-'));
  try {
    const file = join(dir, 'child.mjs');
    writeFileSync(file, SCRIPT);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, PMAMBA_THREADS: threads } });
    assert.equal(r.signal, null, `the child did not exit by itself (killed by ${r.signal}); stderr: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    return { lines: r.stdout.split('\n'), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('wasm on 2 threads: starts, says so, equals 1 thread bit for bit, uses the second thread, exits', () => {
  const one = run('1');
  const two = run('2');
  assert.ok(one.lines.some((l) => /using the wasm backend on 1 thread\b/.test(l)), one.lines.join('\n'));
  assert.ok(two.lines.some((l) => /using the wasm backend on 2 threads\b/.test(l)), two.lines.join('\n'));
  assert.doesNotMatch(two.lines.join('\n'), /warning/);
  const hash = (r: { lines: string[] }) => r.lines.find((l) => l.startsWith('hash '));
  assert.ok(hash(one));
  assert.equal(hash(two), hash(one), 'the threaded build computed different bytes');
  // With 2 threads XNNPACK's pool thread does close to half the work (0.4–0.5 measured); with one,
  // no other thread does more than V8's housekeeping.
  const share = (r: { lines: string[] }) => Number(r.lines.find((l) => l.startsWith('helper-share '))?.split(' ')[1]);
  assert.ok(share(one) < 0.1, `one thread: the busiest other thread did ${share(one)} of the work`);
  assert.ok(share(two) > 0.25, `two threads: the busiest other thread did only ${share(two)} of the work`);
});

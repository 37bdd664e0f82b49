/**
 * The cross scan on the multi-threaded wasm backend's heap (src/ops/scan/scan-heap.ts): the op
 * reads its inputs in place and writes its outputs as tensors there. It must compute what the
 * same kernels compute on the scan arena (the path of every other backend), bit for bit, on one
 * pool thread or two, leak no tensor and give back its scratch. A child process, because the
 * multi-threaded backend starts once per process (and tests in this file's process use the
 * one-thread build, whose heap the scan does not use).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = (spec: string) => JSON.stringify(import.meta.resolve(spec));

// For each shape (3 channel units, one not full; more tokens than a checkpoint interval; a batch
// of 2 with N = 4), the output and the gradients of Σ y·w for all seven inputs, hashed, on each
// backend and pool size. Then, on the heap, the tensors and the memory after 10 more passes.
const SCRIPT = `
  import * as tf from ${url('@tensorflow/tfjs-core')};
  import ${url('@tensorflow/tfjs-backend-cpu')};
  import { createHash } from 'node:crypto';
  import { useBackend } from ${url('../src/index.ts')};
  import { crossSelectiveScan } from ${url('../src/ops/scan/cross-selective-scan.ts')};
  import { configureScanPool } from ${url('../src/ops/scan/scan-pool.ts')};
  import { scanHeap } from ${url('../src/ops/scan/scan-heap.ts')};
  import { randn } from ${url('./support/helpers.ts')};
  await useBackend('wasm'); // PMAMBA_THREADS=2: the multi-threaded build, whose heap is shared
  const SHAPES = [{ B: 1, H: 9, W: 7, D: 150, N: 16 }, { B: 2, H: 5, W: 6, D: 64, N: 4 }];
  const arrays = SHAPES.map(({ B, H, W, D, N }, i) => {
    const r = (shape, s, f = (v) => v) => [Float32Array.from(randn(shape.reduce((a, b) => a * b), 100 * i + s), f), shape];
    return [r([B, H, W, D], 1), r([B, H, W, 4, D], 2, (v) => v - 1), r([4, D, N], 3, (v) => -Math.exp(0.7 * v)),
      r([B, H, W, 4, N], 4), r([B, H, W, 4, N], 5), r([4, D], 6), r([4, D], 7, (v) => 0.5 * v), r([B, H, W, D], 8)];
  });
  const pass = (i) => tf.tidy(() => {
    const [u, delta, A, Bm, Cm, Ds, bias, w] = arrays[i].map(([a, s]) => tf.tensor(a, s));
    const f = (...xs) => tf.sum(tf.mul(crossSelectiveScan(...xs), w));
    return [crossSelectiveScan(u, delta, A, Bm, Cm, Ds, bias), ...tf.grads(f)([u, delta, A, Bm, Cm, Ds, bias])];
  });
  const hashes = () => SHAPES.map((_, i) => {
    const h = createHash('sha256');
    for (const t of pass(i)) h.update(new Uint8Array(t.dataSync().buffer));
    return h.digest('hex').slice(0, 16);
  }).join(',');
  const onHeap = scanHeap() !== null;
  for (const threads of [1, 2]) {
    configureScanPool({ threads, minParallelWork: 0 });
    console.log('result heap=' + onHeap + ' threads=' + threads + ' ' + hashes());
  }
  const memory = tf.backend().wasm.wasmMemory;
  const before = { tensors: tf.memory().numTensors, bytes: memory.buffer.byteLength };
  for (let r = 0; r < 10; r++) for (let i = 0; i < SHAPES.length; i++) tf.dispose(pass(i));
  console.log('leaks tensors=' + (tf.memory().numTensors - before.tensors) + ' grown=' + (memory.buffer.byteLength - before.bytes));
  await tf.setBackend('cpu');
  for (const threads of [1, 2]) {
    configureScanPool({ threads, minParallelWork: 0 });
    console.log('result heap=' + (scanHeap() !== null) + ' threads=' + threads + ' ' + hashes());
  }
`;

test('cross scan on the wasm heap: equals the arena kernels bit for bit, on 1 and 2 threads, and leaks nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pmamba-scan-heap-'));
  try {
    const file = join(dir, 'child.mjs');
    writeFileSync(file, SCRIPT);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8', timeout: 300_000, env: { ...process.env, PMAMBA_THREADS: '2' },
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    const results = lines.filter((l) => l.startsWith('result '));
    assert.deepEqual(results.map((l) => l.split(' ').slice(1, 3).join(' ')),
      ['heap=true threads=1', 'heap=true threads=2', 'heap=false threads=1', 'heap=false threads=2'], r.stdout);
    const hashes = new Set(results.map((l) => l.split(' ')[3]));
    assert.equal(hashes.size, 1, `outputs and gradients differ between the heap and the arena, or between thread counts:\n${results.join('\n')}`);
    // Scratch is freed, so later passes reuse the heap rather than grow it.
    assert.ok(lines.includes('leaks tensors=0 grown=0'), r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

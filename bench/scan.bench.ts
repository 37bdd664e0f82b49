// Benchmark: the selective scan, forward + backward, at the 64² decoder stage of a 256² image:
// D = 128 channels, N = 16 states, K = 4 directions, 2 pyramid levels — level 1 one sequence of
// L = 4096, level 2 four windows (B = 4) of L = 1024. Prints tokens/s of the generic op
// (`selectiveScan` on [B,K,L,D] inputs, in-thread) and of the naive per-time-step tfjs scan (timed
// on a shorter L and extrapolated, as it is ~100× slower), then of the fused four-direction op the
// model uses (`crossSelectiveScan` on the 64×64 / 32×32 maps) in-thread and on the scan pool, and
// last its two implementations side by side on one 32×32 map: `kernels` (the pool, what `auto`
// runs on wasm/cpu) and `ops` (tfjs ops, what `auto` runs on the tensorflow backends).
//   npx tsx bench/scan.bench.ts [--backend wasm|cpu] [--repeats 3] [--naive-length 64]
//                               [--threads T] [--torch] [--torch-scan fast|sequential] [--torch-length L]
// --threads: pool size for the fused op (default PMAMBA_THREADS, else all cores).
// --torch also times PyTorch on the same shapes in a python subprocess (Debian's /usr/bin/python3
// with torch; skipped when missing), on as many threads as the fused op: by default
// torch_fast_scan.selective_scan (a hand-written backward, one in-place update per step: the fair
// CPU baseline), best of --repeats after a warm-up; --torch-scan sequential times the reference's
// own `selective_scan` (pmamba_ref.py, autograd backward: a strawman, minutes per pass), where
// --torch-length times a shorter L and extrapolates linearly. Both are looked up in
// $PMAMBA_REFERENCE_DIR, default ../shared/reference from the repository root.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../packages/model/src/backend.ts';
import type { BackendName } from '../packages/model/src/backend-names.ts';
import '../packages/model/src/ops/register-tfjs-gradients.ts';
import { selectiveScan } from '../packages/model/test/support/selective-scan.ts';
import { selectiveScanNaive } from '../packages/model/test/support/selective-scan-naive.ts';
import { crossSelectiveScan } from '../packages/model/src/ops/scan/cross-selective-scan.ts';
import { configureScanPool, mainKernels, scanPoolOptions, shutdownScanPool } from '../packages/model/src/ops/scan/scan-pool.ts';

// Flags are shared by every bench that `npm run bench` runs: ignore the ones meant for others.
const { values: args } = parseArgs({
  strict: false,
  options: {
    backend: { type: 'string', default: 'wasm' },
    repeats: { type: 'string', default: '3' },
    'naive-length': { type: 'string', default: '64' },
    torch: { type: 'boolean', default: false },
    'torch-scan': { type: 'string', default: 'fast' },
    'torch-length': { type: 'string' },
    threads: { type: 'string' },
  },
});
const REPEATS = Number(args.repeats);
const NAIVE_L = Number(args['naive-length']);
const D = 128;
const N = 16;
const K = 4;
const LEVELS = [{ name: 'level 1', B: 1, L: 4096, side: 64 }, { name: 'level 2', B: 4, L: 1024, side: 32 }];
// One level-2 window: the ops scan holds a few [K·B·H·W·D·N] tensors (34 MB each here), which at
// the level sizes above would crowd the wasm heap.
const OPS_CASE = { B: 1, side: 32 };
const REPO = resolve(import.meta.dirname, '..');

type ScanFn = (...xs: tf.Tensor[]) => tf.Tensor;

function inputs(B: number, L: number): tf.Tensor[] {
  return tf.tidy(() => [
    tf.randomNormal([B, K, L, D], 0, 1, 'float32', 1),
    tf.randomNormal([B, K, L, D], -1, 1, 'float32', 2),
    tf.neg(tf.exp(tf.randomUniform([K, D, N], -2, 1, 'float32', 3))),
    tf.randomNormal([B, K, L, N], 0, 1, 'float32', 4),
    tf.randomNormal([B, K, L, N], 0, 1, 'float32', 5),
    tf.ones([K, D]),
    tf.randomUniform([K, D], -4, 0, 'float32', 6),
  ]);
}

/** The fused op's inputs for B maps of side×side: u [B,H,W,D], delta [B,H,W,K,D], …, as crossScan makes them. */
function crossInputs(B: number, side: number): tf.Tensor[] {
  return tf.tidy(() => [
    tf.randomNormal([B, side, side, D], 0, 1, 'float32', 1),
    tf.randomNormal([B, side, side, K, D], -1, 1, 'float32', 2),
    tf.neg(tf.exp(tf.randomUniform([K, D, N], -2, 1, 'float32', 3))),
    tf.randomNormal([B, side, side, K, N], 0, 1, 'float32', 4),
    tf.randomNormal([B, side, side, K, N], 0, 1, 'float32', 5),
    tf.ones([K, D]),
    tf.randomUniform([K, D], -4, 0, 'float32', 6),
  ]);
}

/** Seconds for one forward and for one forward + backward (gradients of all 7 inputs), best of `reps`. */
function time(fn: ScanFn, xs: tf.Tensor[], reps: number): { fwd: number; fwdBwd: number } {
  const w = tf.randomNormal(xs[0].shape, 0, 1, 'float32', 7); // y has u's shape
  const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(fn(...a), w));
  let fwd = Infinity;
  let fwdBwd = Infinity;
  for (let r = 0; r < reps + 1; r++) { // the first run warms up
    let t = performance.now();
    tf.tidy(() => { fn(...xs).dataSync(); });
    if (r > 0) fwd = Math.min(fwd, (performance.now() - t) / 1000);
    t = performance.now();
    tf.tidy(() => { tf.grads(loss)(xs).forEach((g) => g.dataSync()); });
    if (r > 0) fwdBwd = Math.min(fwdBwd, (performance.now() - t) / 1000);
  }
  tf.dispose([...xs, w]);
  return { fwd, fwdBwd };
}

const load = () => loadavg()[0].toFixed(1);

const PYTHON = '/usr/bin/python3';
const REFERENCE_DIR = resolve(process.env.PMAMBA_REFERENCE_DIR ?? join(REPO, '..', 'shared', 'reference'));

/** Why the torch comparison cannot run here, or null when it can. */
function torchMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  if (!existsSync(join(REFERENCE_DIR, 'pmamba_ref.py'))) return `no pmamba_ref.py in ${REFERENCE_DIR} (set PMAMBA_REFERENCE_DIR)`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} cannot import torch`;
}

/**
 * PyTorch's selective scan timed by python: forward, then forward + backward, each the best of
 * `repeats` after a warm-up (torch_fast_scan), or once (the reference's sequential scan).
 */
function timeTorch(B: number, L: number, scan: string, threads: number, repeats: number): { fwd: number; fwdBwd: number; threads: number; version: string } {
  // Layouts as in the reference: u, delta (b,k,d,l); B, C (b,k,n,l).
  const script = `
import sys, time, json
sys.path.insert(0, sys.argv[1])
import torch
b, L, k, d, n = (int(v) for v in sys.argv[2:7])
scan, threads, repeats = sys.argv[7], int(sys.argv[8]), int(sys.argv[9])
torch.set_num_threads(threads)
if scan == 'fast':
    from torch_fast_scan import selective_scan
else:
    from pmamba_ref import selective_scan
g = torch.Generator().manual_seed(0)
r = lambda *s: torch.randn(*s, generator=g)
xs = [r(b, k, d, L), r(b, k, d, L) - 1, -torch.exp(torch.rand(k, d, n, generator=g) * 3 - 2), r(b, k, n, L), r(b, k, n, L),
      torch.ones(k, d), torch.rand(k, d, generator=g) * 4 - 4]
xs = [x.requires_grad_() for x in xs]
w = r(b, k, d, L)
if scan == 'fast':
    (selective_scan(*xs) * w).sum().backward()  # warm-up: its buffer pool is allocated
fwd = fwd_bwd = float('inf')
for _ in range(repeats if scan == 'fast' else 1):
    t = time.perf_counter()
    with torch.no_grad():
        selective_scan(*xs)
    fwd = min(fwd, time.perf_counter() - t)
    t = time.perf_counter()
    (selective_scan(*xs) * w).sum().backward()
    fwd_bwd = min(fwd_bwd, time.perf_counter() - t)
print(json.dumps({"fwd": fwd, "fwdBwd": fwd_bwd, "threads": torch.get_num_threads(), "version": torch.__version__}))
`;
  const r = spawnSync(PYTHON, ['-c', script, REFERENCE_DIR, String(B), String(L), String(K), String(D), String(N), scan, String(threads), String(repeats)],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`torch timing failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const fmt = (x: number) => (x >= 1e5 ? x.toExponential(2) : x.toFixed(x >= 100 ? 0 : 1));

async function main(): Promise<void> {
  const backend = await useBackend(args.backend as BackendName);
  console.log(`selective scan, forward + backward (gradients of all 7 inputs): D=${D} N=${N} K=${K}`);
  if (args.threads !== undefined) configureScanPool({ threads: Number(args.threads) });
  const threads = scanPoolOptions().threads;
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ` +
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB; node ${process.version}; tfjs-core ${tf.version_core}, backend ${backend} ` +
    `(whatever the backend, the generic op's kernels run in JS, the fused op's on ${mainKernels() ? 'WebAssembly SIMD' : 'JS'}); ` +
    `load average at start ${load()} (other processes share the cores)`);
  console.log(`best of ${REPEATS}; tokens = sequence positions (B·L), each scanned in ${K} directions over ${D} channels`);
  let ours = 0;
  let naive = 0;
  let torch = 0;
  const missing = args.torch === true ? torchMissing() : null;
  if (missing) console.log(`torch: skipped (${missing})`);
  const withTorch = args.torch === true && !missing;
  for (const { name, B, L } of LEVELS) {
    const o = time(selectiveScan as ScanFn, inputs(B, L), REPEATS);
    const nl = Math.min(NAIVE_L, L);
    const nv = time(selectiveScanNaive as ScanFn, inputs(B, nl), 1);
    const scale = L / nl;
    ours += o.fwdBwd;
    naive += nv.fwdBwd * scale;
    const tok = B * L;
    console.log(`${name} (B=${B}, L=${L}): generic op fwd ${o.fwd.toFixed(3)} s, fwd+bwd ${o.fwdBwd.toFixed(3)} s = ` +
      `${fmt(tok / o.fwdBwd)} tokens/s; naive tfjs fwd+bwd ${fmt(tok / (nv.fwdBwd * scale))} tokens/s ` +
      `(timed at L=${nl}, ${nv.fwdBwd.toFixed(3)} s, ×${scale} extrapolated); speed-up over naive ${fmt(nv.fwdBwd * scale / o.fwdBwd)}×`);
    if (withTorch) {
      const scan = String(args['torch-scan']);
      const tl = scan === 'fast' ? L : Math.min(Number(args['torch-length'] ?? L), L);
      if (scan !== 'fast') console.log(`${name}: timing torch's sequential scan at L=${tl} (its autograd backward can take minutes)…`);
      const t = timeTorch(B, tl, scan, threads, REPEATS);
      const ts = L / tl;
      torch += t.fwdBwd * ts;
      console.log(`${name}: torch ${t.version} ${scan === 'fast' ? 'torch_fast_scan' : 'sequential reference scan'} (${t.threads} threads) fwd ${(t.fwd * ts).toFixed(3)} s, fwd+bwd ` +
        `${(t.fwdBwd * ts).toFixed(3)} s = ${fmt(tok / (t.fwdBwd * ts))} tokens/s` +
        `${ts > 1 ? ` (timed at L=${tl}, ×${ts} extrapolated)` : ''}; torch/ours time ratio: fwd ` +
        `${(t.fwd * ts / o.fwd).toFixed(2)}, fwd+bwd ${(t.fwdBwd * ts / o.fwdBwd).toFixed(2)}`);
    }
  }
  const map = LEVELS[0].B * LEVELS[0].L;
  console.log(`64² map, both levels: generic op ${ours.toFixed(3)} s = ${fmt(map / ours)} map tokens/s; naive ${naive.toFixed(1)} s ` +
    `(extrapolated), speed-up ${fmt(naive / ours)}×` +
    (withTorch ? `; torch ${torch.toFixed(1)} s, torch/generic ${(torch / ours).toFixed(1)}` : ''));

  // The fused op, in-thread and on the pool (identical results).
  const fused: Record<number, number> = {};
  for (const t of [...new Set([1, threads])]) {
    configureScanPool({ threads: t });
    fused[t] = 0;
    for (const { name, B, L, side } of LEVELS) {
      const f = time(crossSelectiveScan as ScanFn, crossInputs(B, side), REPEATS);
      fused[t] += f.fwdBwd;
      console.log(`${name} (B=${B}, ${side}×${side}): fused op, ${t} thread(s): fwd ${f.fwd.toFixed(3)} s, fwd+bwd ` +
        `${f.fwdBwd.toFixed(3)} s = ${fmt(B * L / f.fwdBwd)} tokens/s (load ${load()})`);
    }
  }
  const best = fused[threads];
  console.log(`64² map, both levels: fused op ${best.toFixed(3)} s with ${threads} thread(s) = ${fmt(map / best)} map tokens/s ` +
    `(in-thread ${fused[1].toFixed(3)} s); speed-up over the generic op ${(ours / best).toFixed(1)}×` +
    (withTorch ? `, torch/fused ${(torch / best).toFixed(1)}` : ''));

  // The two implementations of the fused op on the same case and backend (pool at full size).
  configureScanPool({ threads });
  const { B: ob, side: os } = OPS_CASE;
  const by = Object.fromEntries((['kernels', 'ops'] as const).map((scan) => {
    const fn: ScanFn = (...a) => crossSelectiveScan(a[0] as tf.Tensor4D, a[1], a[2], a[3], a[4], a[5], a[6], { scan });
    return [scan, time(fn, crossInputs(ob, os), REPEATS)];
  })) as Record<'kernels' | 'ops', { fwd: number; fwdBwd: number }>;
  console.log(`ops vs kernels (B=${ob}, ${os}×${os}, backend ${backend}): kernels fwd ${by.kernels.fwd.toFixed(3)} s, fwd+bwd ` +
    `${by.kernels.fwdBwd.toFixed(3)} s; ops fwd ${by.ops.fwd.toFixed(3)} s, fwd+bwd ${by.ops.fwdBwd.toFixed(3)} s; ops/kernels ` +
    `time ${(by.ops.fwd / by.kernels.fwd).toFixed(1)}× fwd, ${(by.ops.fwdBwd / by.kernels.fwdBwd).toFixed(1)}× fwd+bwd (load ${load()})`);
  await shutdownScanPool();
}

await main();

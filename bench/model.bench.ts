// Model benchmarks (issue 13: CPU speed), each measurement in its own child process:
// inference images/s at 256² (reference model, batch 2), a training step's seconds per image at
// 256² (batch 1) with its peak RSS, the demo's training step, and the training step against a
// FLOP bound. `--torch` puts PyTorch beside them (Debian's python3-torch running
// ../shared/reference/pmamba_ref.py with torch_fast_scan, on the same number of threads; the
// reference's sequential scan only in a 64² "strawman" row) and checks the issue's goals.
// `--threads 1,2` adds a scaling table: each count in its own processes with PMAMBA_THREADS=N
// (and torch.set_num_threads(N)).
//   npx tsx bench/model.bench.ts [--backend wasm|cpu|auto] [--torch] [--threads 1,2] [--quick] [--repeats 3]
// --quick: 128² instead of 256². Threads of the main table: PMAMBA_THREADS, else every core.
// --repeats N: each figure is the best of N timed passes after one warm-up, on both sides (default 3:
// single passes on a shared 2-core machine varied by up to 1.5×). The strawman is timed once.
// Internal: --child '<json job>' runs one measurement and prints one JSON line.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { PyramidMamba, Trainer, inferAnomalyMaps, presetConfig, useBackend, type BackendChoice, type PresetName } from '@pmamba/model';
import { computeThreads } from '../packages/model/src/threads/compute-threads.ts';
import { applyTestWeights } from '../packages/model/test/support/test-weights.ts';
import { machineLine } from './machine.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
const ROOT = join(import.meta.dirname, '..');
const backendChoice = option('backend', 'auto') as BackendChoice;

// ---------------------------------------------------------------------------------------- child
type Job =
  | { kind: 'infer'; size: number; batch: number; repeats: number }
  | { kind: 'train'; preset: PresetName; size: number; batch: number; repeats: number };

interface ChildResult {
  seconds: number;
  /** process.resourceUsage().maxRSS: peak resident set of the child, KiB. */
  maxRssKiB: number;
  backend: string;
  /** What useBackend said (e.g. "using the wasm backend on 2 threads"). */
  log: string;
  threads: number;
}

function imagesNhwc(n: number, size: number): tf.Tensor4D {
  return tf.randomNormal([n, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

/** Seconds of the fastest of `repeats` calls of `fn`. */
function best(repeats: number, fn: () => void): number {
  let s = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return s;
}

function timeInference(size: number, n: number, repeats: number): number {
  const model = new PyramidMamba(presetConfig('reference'));
  applyTestWeights(model.params, 0);
  const x = new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i * 0.37));
  inferAnomalyMaps(model, x.subarray(0, 3 * size * size), 1, size); // warm-up
  const s = best(repeats, () => inferAnomalyMaps(model, x, n, size, { batchSize: n }));
  model.dispose();
  return s;
}

function timeTrainStep(preset: PresetName, size: number, batch: number, repeats: number): number {
  const model = new PyramidMamba(presetConfig(preset), 1);
  const trainer = new Trainer(model, { lr: 0.005 * batch / 16, seed: 1 });
  const x = imagesNhwc(batch, size);
  trainer.step(x); // warm-up: kernels compiled, optimizer state allocated
  const s = best(repeats, () => trainer.step(x));
  x.dispose();
  model.dispose();
  return s;
}

async function runChild(job: Job): Promise<never> {
  const logs: string[] = [];
  const backend = await useBackend(backendChoice, (m) => logs.push(m));
  const seconds = job.kind === 'infer' ? timeInference(job.size, job.batch, job.repeats) : timeTrainStep(job.preset, job.size, job.batch, job.repeats);
  const r: ChildResult = { seconds, maxRssKiB: process.resourceUsage().maxRSS, backend, log: logs.join('; '), threads: computeThreads() };
  console.log(JSON.stringify(r));
  process.exit(0); // the scan pool's and wasm's workers are unref'd; exit without waiting for GC
}

if (option('child', '') !== '') await runChild(JSON.parse(option('child', '')) as Job);

// ---------------------------------------------------------------------------------------- parent
const quick = flag('quick');
const withTorch = flag('torch');
const size = quick ? 128 : 256;
const repeats = Number(option('repeats', '3'));
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats wants a whole number ≥ 1, got ${option('repeats', '')}`);
const INFER_BATCH = 2;
const TRAIN_BATCH = 1; // at 256² a batch of 2 outgrows the wasm backend's 4 GiB heap (tfjs-node has no such limit)
const STRAWMAN_SIZE = 64;
const STRAWMAN_BATCH = 2;
const mainThreads = computeThreads();
const threadCounts = flag('threads') ? option('threads', '').split(',').map(Number) : [];
if (threadCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--threads wants whole numbers ≥ 1 separated by commas, got ${option('threads', '')}`);

/** The issue's goals. */
const GOAL_TRAIN_VS_TORCH = 0.67; // training step ≤ 0.67× PyTorch-fast's time
const GOAL_INFER_VS_TORCH = 1.5; //  inference ≥ 1.5× PyTorch-fast's images/s
const GOAL_VS_BOUND = 3; //          training step ≤ 3× the FLOP bound
const WASM_MATMUL_GFLOPS_PER_CORE = 23.5; // the issue's measured wasm SIMD matMul rate
/** Conv + matMul FLOPs of one 256² training step (teacher forward, student forward and backward), per image:
 * counted by `bench/torch/model_timing.py --what flops --size 256` (33,448,001,536). They scale with the image
 * area as long as pyramid level 3 stays off (maps ≤ 64 wide, so up to 256²). Used when PyTorch is not run. */
const FLOPS_256 = 33_448_001_536;

const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
const backend = await useBackend(backendChoice, () => {});
console.log(machineLine(`backend ${backend}, ${mainThreads} threads (PMAMBA_THREADS=${process.env.PMAMBA_THREADS ?? 'unset: every core'}), ` +
  `load average ${load()}${quick ? ', --quick (128²)' : ''}; each time is the best of ${repeats} passes after a warm-up`));

function child(job: Job, threads: number): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/model.bench.ts'), '--child', JSON.stringify(job), '--backend', backendChoice], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, PMAMBA_THREADS: String(threads) }, maxBuffer: 64 << 20,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) throw new Error(`child ${JSON.stringify(job)} failed (status ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-5).join('\n')}`);
  return JSON.parse(last) as ChildResult;
}

// ---------------------------------------------------------------------------------------- PyTorch
interface TorchResult {
  seconds: number | null;
  threads: number;
  torch: string;
  blas: string;
  max_rss_kib: number;
  scan: string;
  flops?: number;
  flops_by_phase?: Record<string, number>;
}

const REFERENCE = process.env.PMAMBA_REFERENCE_DIR ?? join(ROOT, '../shared/reference');
const PYTHON = '/usr/bin/python3';
/** OpenBLAS unpacked by bench/torch/openblas.sh, for machines whose libblas.so.3 is Netlib's reference BLAS. */
const PRIVATE_BLAS = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pmamba/openblas');
// On a machine with more runnable threads than cores, OpenMP's default spin-waiting makes every parallel
// region wait out a time slice of a descheduled thread (a 64² training step measured 1.0 s on 1 thread, 20 s
// on 2; 2.0 s with OMP_WAIT_POLICY=PASSIVE). pmamba's pools block in futexes (Atomics.wait). So unless the
// environment sets it, torch's threads wait passively when the machine is busy at start.
const ompWaitPolicy = process.env.OMP_WAIT_POLICY ?? (loadavg()[0] > 0.75 * mainThreads ? 'PASSIVE' : undefined);
let torchSkip: string | null = !withTorch ? 'not asked (--torch)' : !existsSync(PYTHON) ? `${PYTHON} missing` : !existsSync(join(REFERENCE, 'pmamba_ref.py')) ? `no pmamba_ref.py in ${REFERENCE}` : null;

/** One PyTorch measurement in its own python process (one untimed warm-up pass first, except for the strawman). */
function torchRun(what: 'infer' | 'train' | 'flops', sz: number, batch: number, threads: number, scan: 'fast' | 'sequential' = 'fast'): TorchResult | null {
  if (torchSkip) return null;
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
  if (ompWaitPolicy) env.OMP_WAIT_POLICY = ompWaitPolicy;
  if (existsSync(join(PRIVATE_BLAS, 'libblas.so.3'))) env.LD_LIBRARY_PATH = [PRIVATE_BLAS, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const r = spawnSync(PYTHON, [join(ROOT, 'bench/torch/model_timing.py'), '--reference', REFERENCE, '--size', String(sz), '--batch', String(batch),
    '--what', what, '--scan', scan, '--threads', String(threads), '--warmup', scan === 'fast' ? '1' : '0', '--repeats', String(scan === 'fast' ? repeats : 1)],
    { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    const why = (r.stderr || '').trim().split('\n').pop() ?? `status ${r.status}`;
    if (/No module named|not found/i.test(why)) torchSkip = why; // nothing later would run either
    console.log(`PyTorch ${what} ${sz}² (${scan} scan): not run (${why})`);
    return null;
  }
  return JSON.parse(last) as TorchResult;
}

// ---------------------------------------------------------------------------------------- measurements
const demo = parse(readFileSync(join(ROOT, 'configs/quickstart.yaml'), 'utf8'));
const demoSize: number = demo.dataset?.imageSize ?? 128;
const demoBatch: number = demo.training?.batchSize ?? 8;
const demoPreset: PresetName = demo.model?.preset ?? 'small';

interface Point { inferS: number; trainS: number; trainRssKiB: number; log: string; torchInfer: TorchResult | null; torchTrain: TorchResult | null }
function measure(threads: number): Point {
  const inf = child({ kind: 'infer', size, batch: INFER_BATCH, repeats }, threads);
  const tr = child({ kind: 'train', preset: 'reference', size, batch: TRAIN_BATCH, repeats }, threads);
  return {
    inferS: inf.seconds, trainS: tr.seconds, trainRssKiB: tr.maxRssKiB, log: inf.log,
    torchInfer: torchRun('infer', size, INFER_BATCH, threads), torchTrain: torchRun('train', size, TRAIN_BATCH, threads),
  };
}

const main = measure(mainThreads);
const strawOurs = withTorch ? child({ kind: 'train', preset: 'reference', size: STRAWMAN_SIZE, batch: STRAWMAN_BATCH, repeats: 1 }, mainThreads) : null;
const strawTorch = withTorch ? torchRun('train', STRAWMAN_SIZE, STRAWMAN_BATCH, mainThreads, 'sequential') : null;
const demoRun = child({ kind: 'train', preset: demoPreset, size: demoSize, batch: demoBatch, repeats }, mainThreads);
const flopsRun = torchRun('flops', size, 1, mainThreads);
const flopsPerImage = flopsRun?.flops ?? FLOPS_256 * (size / 256) ** 2;

// ---------------------------------------------------------------------------------------- report
const f3 = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3));
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const met = (ok: boolean) => (ok ? 'met' : 'not met');

console.log(`pmamba: ${main.log.replace(/pmamba: /g, '') || `the ${backend} backend`}`);
const tInfo = main.torchInfer ?? main.torchTrain;
if (tInfo) {
  const reference = /\/blas\/libblas/.test(tInfo.blas);
  console.log(`PyTorch ${tInfo.torch} on ${tInfo.threads} threads (torch.set_num_threads), BLAS ${tInfo.blas}${reference ? ' — Netlib reference BLAS: nn.Linear/einsum are a strawman; run bench/torch/openblas.sh' : ''}, ` +
    `OMP_WAIT_POLICY ${ompWaitPolicy ?? 'default'}; selective scan: torch_fast_scan (sequential only where the row says so)`);
} else {
  console.log(`PyTorch: ${torchSkip ?? 'did not run'}`);
}
console.log(`FLOPs of one ${size}² training step (teacher forward + student forward + backward; convolutions and matrix products, 2 per multiply-add): ` +
  (flopsRun ? `${(flopsPerImage / 1e9).toFixed(1)} GFLOP/image, counted on PyTorch's reference model by model_timing.py --what flops (` +
    `${Object.entries(flopsRun.flops_by_phase ?? {}).map(([k, v]) => `${k.replace('_', ' ')} ${(v / 1e9).toFixed(1)}`).join(', ')})`
    : `${(flopsPerImage / 1e9).toFixed(1)} GFLOP/image (counted once at 256², scaled by area)`) +
  `; bound at the issue's ${WASM_MATMUL_GFLOPS_PER_CORE} GFLOP/s per core × ${mainThreads} threads = ${f3(flopsPerImage / (WASM_MATMUL_GFLOPS_PER_CORE * 1e9 * mainThreads))} s/image`);

const rows: string[][] = [];
const tInferRate = main.torchInfer?.seconds ? INFER_BATCH / main.torchInfer.seconds : null;
const oursInferRate = INFER_BATCH / main.inferS;
rows.push([`inference ${size}² (reference, batch ${INFER_BATCH}), images/s`, f3(oursInferRate), tInferRate ? f3(tInferRate) : '—',
  tInferRate ? `${(oursInferRate / tInferRate).toFixed(2)}× PyTorch's images/s` : '—',
  `≥ ${GOAL_INFER_VS_TORCH}× PyTorch's images/s`, tInferRate ? met(oursInferRate / tInferRate >= GOAL_INFER_VS_TORCH) : '—']);
const oursTrain = main.trainS / TRAIN_BATCH;
const tTrain = main.torchTrain?.seconds ? main.torchTrain.seconds / TRAIN_BATCH : null;
rows.push([`training step ${size}² (reference, batch ${TRAIN_BATCH}), s/image`, f3(oursTrain), tTrain ? f3(tTrain) : '—',
  tTrain ? `${(oursTrain / tTrain).toFixed(2)}× PyTorch's time` : '—',
  `≤ ${GOAL_TRAIN_VS_TORCH}× PyTorch's time`, tTrain ? met(oursTrain / tTrain <= GOAL_TRAIN_VS_TORCH) : '—']);
const bound = flopsPerImage / (WASM_MATMUL_GFLOPS_PER_CORE * 1e9 * mainThreads);
rows.push([`training step ${size}² vs the FLOP bound (${f3(bound)} s/image), × bound`, `${(oursTrain / bound).toFixed(1)}×`, tTrain ? `${(tTrain / bound).toFixed(1)}×` : '—', '—',
  `≤ ${GOAL_VS_BOUND}× the bound`, met(oursTrain / bound <= GOAL_VS_BOUND)]);
if (strawOurs) {
  const o = strawOurs.seconds / STRAWMAN_BATCH;
  const t = strawTorch?.seconds ? strawTorch.seconds / STRAWMAN_BATCH : null;
  rows.push([`training step ${STRAWMAN_SIZE}² (reference, batch ${STRAWMAN_BATCH}), s/image — PyTorch with its sequential scan (strawman)`, f3(o), t ? f3(t) : '—',
    t ? `${(o / t).toFixed(2)}× PyTorch's time` : '—', '—', '—']);
}
rows.push([`training step ${demoSize}² (demo: ${demoPreset} preset, batch ${demoBatch}), s/image`, f3(demoRun.seconds / demoBatch), '— (reference architecture only)', '—', '—', '—']);
const tRss = main.torchTrain?.max_rss_kib;
rows.push([`peak RSS of a ${size}² training step (batch ${TRAIN_BATCH}, whole process), per image`, mib(main.trainRssKiB / TRAIN_BATCH), tRss ? mib(tRss / TRAIN_BATCH) : '—',
  tRss ? `${(main.trainRssKiB / tRss).toFixed(2)}× PyTorch's` : '—', '—', '—']);

const table = (head: string[], body: string[][]) => {
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`);
  for (const r of body) console.log(`| ${r.join(' | ')} |`);
};
console.log('');
table(['measurement', 'pmamba', 'PyTorch, fast scan', 'pmamba vs PyTorch', 'goal (issue 13)', 'status'], rows);

if (threadCounts.length) {
  const points = new Map<number, Point>();
  for (const n of threadCounts) points.set(n, n === mainThreads ? main : measure(n));
  const base = points.get(threadCounts.includes(1) ? 1 : threadCounts[0])!;
  const baseN = threadCounts.includes(1) ? 1 : threadCounts[0];
  const speed = (v: number | null | undefined, b: number | null | undefined, higherBetter: boolean) =>
    v && b ? `${(higherBetter ? v / b : b / v).toFixed(2)}×` : '—';
  const rate = (s: number | null | undefined) => (s ? INFER_BATCH / s : null);
  const head = ['threads', `pmamba inference ${size}² img/s`, `speed-up vs ${baseN}`, `pmamba training ${size}² s/img`, `speed-up vs ${baseN}`];
  if (withTorch) head.push('PyTorch inference img/s', `speed-up vs ${baseN}`, 'PyTorch training s/img', `speed-up vs ${baseN}`);
  const body = threadCounts.map((n) => {
    const p = points.get(n)!;
    const r = [String(n), f3(INFER_BATCH / p.inferS), speed(INFER_BATCH / p.inferS, INFER_BATCH / base.inferS, true), f3(p.trainS / TRAIN_BATCH), speed(p.trainS, base.trainS, false)];
    if (withTorch) {
      const ti = rate(p.torchInfer?.seconds);
      const tt = p.torchTrain?.seconds ? p.torchTrain.seconds / TRAIN_BATCH : null;
      r.push(ti ? f3(ti) : '—', speed(ti, rate(base.torchInfer?.seconds), true), tt ? f3(tt) : '—', speed(tt, base.torchTrain?.seconds ? base.torchTrain.seconds / TRAIN_BATCH : null, false));
    }
    return r;
  });
  console.log(`\nthread scaling (each count in its own processes: PMAMBA_THREADS=N${withTorch ? ', torch.set_num_threads(N)' : ''}), load average now ${load()}`);
  table(head, body);
}
process.exit(0);

// Per-op profile of one training step (Trainer.step: teacher forward, student forward, backward,
// grad-norm clip + AdamW), by tfjs kernel name, as a markdown table sorted by time.
//   npx tsx bench/model-profile.ts [--size 256] [--preset reference] [--batch 1] [--backend wasm]
//
// How it is measured: one warm-up step, then one step under tf.profile (kernelTimeMs per kernel;
// on the wasm backend that is the wall time of the synchronous kernel call). The step is split
// into phases without a second run: tf.variableGrads goes through the engine's `gradients`, which
// is wrapped here to note where the student forward starts and ends; kernels before that are the
// teacher, after it until `gradients` returns the backward pass, then the optimizer.
// The selective scan runs outside tfjs kernels (a tf.customGrad op over JS/WebAssembly kernels on
// the scan pool, ops/scan/cross-selective-scan.ts): its forward is the custom op's profile entry
// (recognised by its 7 inputs, delta [B,H,W,4,D]); its backward is the gradFunc the engine calls
// from the tape, timed by wrapping that tape node's gradient. Other customGrad wrappers (matMul,
// conv2d, ...) are not counted themselves: the registered kernels they run are. What remains of
// each phase's wall time — JS glue, dataSync copies into and out of the scan memory, tensor
// allocation, GC — is the "outside" row.
import * as tf from '@tensorflow/tfjs-core';
import { loadavg } from 'node:os';
import { PyramidMamba, Trainer, presetConfig, useBackend, type BackendChoice, type PresetName } from '@pmamba/model';
import { machineLine } from './machine.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
const size = Number(option('size', '256'));
const preset = option('preset', 'reference') as PresetName;
const batch = Number(option('batch', '1'));
const logs: string[] = [];
const backend = await useBackend(option('backend', 'wasm') as BackendChoice, (m) => logs.push(m));
const wasmThreads = logs.join(' ').match(/on (\d+ threads?)/)?.[1];
const load = loadavg().map((v) => v.toFixed(2)).join(' ');
console.log(machineLine(`backend ${backend}${wasmThreads ? ` (${wasmThreads})` : ''}, PMAMBA_THREADS=${process.env.PMAMBA_THREADS ?? '(all cores)'}, load average ${load}`));
tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);

type Phase = 'teacher' | 'student' | 'backward' | 'optimizer';
const PHASES: Phase[] = ['teacher', 'student', 'backward', 'optimizer'];

interface EngineInternals {
  state: { activeProfile: { kernels: { name: string; inputShapes: number[][] }[] }; activeTape: { kernelName: string; inputs: Record<string, tf.Tensor>; gradient?: (dys: tf.Tensor[]) => unknown }[] | null };
  gradients: (f: () => tf.Tensor, ...rest: unknown[]) => unknown;
  addTapeNode: (...a: unknown[]) => void;
}
const engine = tf.engine() as unknown as EngineInternals;

/** The cross selective scan's custom op: 7 inputs, the second (delta) [B,H,W,4,D]. */
const isScan = (inputShapes: (number[] | undefined)[]) => inputShapes.length === 7 && inputShapes[1]?.length === 5 && inputShapes[1][3] === 4;

// Phase marks: kernel-list index and time at each boundary.
let marks: { kernels: number; t: number }[] = [];
const mark = () => marks.push({ kernels: engine.state.activeProfile.kernels.length, t: performance.now() });
let scanBackwardMs = 0;
let scanBackwardCalls = 0;
let profiling = false;

const gradients = engine.gradients.bind(engine);
engine.gradients = (f, ...rest) => {
  if (!profiling) return gradients(f, ...rest);
  mark(); // student forward starts
  const out = gradients(() => { const y = f(); mark(); return y; }, ...rest); // backward starts
  mark(); // backward done
  return out;
};
const addTapeNode = engine.addTapeNode.bind(engine);
engine.addTapeNode = (...a) => {
  addTapeNode(...a);
  const tape = engine.state.activeTape;
  const node = tape?.[tape.length - 1];
  if (!node?.gradient || !isScan(Object.values(node.inputs).map((t) => t.shape))) return;
  const grad = node.gradient;
  node.gradient = (dys) => {
    const t0 = performance.now();
    const r = grad(dys);
    if (profiling) { scanBackwardMs += performance.now() - t0; scanBackwardCalls++; }
    return r;
  };
};

const model = new PyramidMamba(presetConfig(preset), 1);
const trainer = new Trainer(model, { lr: 0.005 * batch / 16, seed: 1 });
const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
let t0 = performance.now();
trainer.step(x); // warm-up: kernels compiled, optimizer state allocated, scan pool started
const warmMs = performance.now() - t0;
let plainMs = NaN;
if (!args.includes('--no-plain')) { // an unprofiled step, to show what profiling itself costs
  t0 = performance.now();
  trainer.step(x);
  plainMs = performance.now() - t0;
}

marks = [];
profiling = true;
const profile = await tf.profile(() => {
  mark(); // teacher starts
  trainer.step(x);
  mark(); // optimizer done
});
profiling = false;
if (marks.length !== 5) throw new Error(`expected 5 phase marks (one tf.variableGrads per step), got ${marks.length}: use --batch without micro-batching`);

const registered = (name: string) => tf.getKernel(name, tf.getBackend()) !== undefined;
const stepMs = marks[4].t - marks[0].t;
const phaseMs = PHASES.map((_, p) => marks[p + 1].t - marks[p].t);
const phaseOf = (i: number): number => { let p = 0; while (p < 3 && i >= marks[p + 1].kernels) p++; return p; };

// name → ms per phase
const rows = new Map<string, { ms: number[]; calls: number }>();
const add = (name: string, p: number, ms: number) => {
  const r = rows.get(name) ?? { ms: [0, 0, 0, 0], calls: 0 };
  r.ms[p] += ms;
  r.calls++;
  rows.set(name, r);
};
const SCAN_FWD = 'cross selective scan forward (custom op: JS/wasm kernels on the scan pool)';
const SCAN_BWD = 'cross selective scan backward (custom op gradFunc: JS/wasm kernels on the scan pool)';
let skipped = 0;
profile.kernels.forEach((k, i) => {
  const ms = k.kernelTimeMs as number;
  if (registered(k.name)) add(k.name, phaseOf(i), ms);
  else if (isScan(k.inputShapes)) add(SCAN_FWD, phaseOf(i), ms);
  else skipped++;
});
if (scanBackwardCalls > 0) {
  rows.set(SCAN_BWD, { ms: [0, 0, scanBackwardMs, 0], calls: scanBackwardCalls });
}
const counted = PHASES.map((_, p) => [...rows.values()].reduce((s, r) => s + r.ms[p], 0));
const OUTSIDE = 'outside tfjs kernels and the scan (JS glue, dataSync copies, tensor allocation, GC)';
rows.set(OUTSIDE, { ms: phaseMs.map((m, p) => m - counted[p]), calls: 0 });

const f = (ms: number) => (Math.abs(ms) < 0.05 ? '' : ms.toFixed(1));
console.log(`\none training step, ${preset} preset, ${size}², batch ${batch}: ${(stepMs / 1000).toFixed(2)} s profiled` +
  `${Number.isNaN(plainMs) ? '' : `, ${(plainMs / 1000).toFixed(2)} s unprofiled`} (warm-up step ${(warmMs / 1000).toFixed(2)} s); ` +
  `phases: ${PHASES.map((p, i) => `${p} ${(phaseMs[i] / 1000).toFixed(2)} s`).join(', ')}\n`);
console.log('| kernel | calls | teacher fwd ms | student fwd ms | backward ms | optimizer ms | total ms | % of step |');
console.log('|---|--:|--:|--:|--:|--:|--:|--:|');
const sorted = [...rows.entries()].sort((a, b) => b[1].ms.reduce((s, v) => s + v, 0) - a[1].ms.reduce((s, v) => s + v, 0));
for (const [name, r] of sorted) {
  const total = r.ms.reduce((s, v) => s + v, 0);
  console.log(`| ${name} | ${r.calls || ''} | ${r.ms.map(f).join(' | ')} | ${total.toFixed(1)} | ${(100 * total / stepMs).toFixed(1)} |`);
}
console.log(`| **step** | ${profile.kernels.length - skipped} | ${phaseMs.map((m) => m.toFixed(1)).join(' | ')} | ${stepMs.toFixed(1)} | 100.0 |`);
console.log(`\n(${skipped} customGrad wrapper entries not counted: their time is that of the kernels they run, listed above.)`);
x.dispose();
trainer.dispose();
model.dispose();
process.exit(0);

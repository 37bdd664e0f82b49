// Model benchmarks: inference images/s at 256², a training step's seconds per image at 256²
// (reference model) and at the demo size (small preset), optionally side by side with the
// PyTorch reference (`--torch`, where Debian's python3-torch is installed).
//   npx tsx bench/model.bench.ts [--backend wasm|cpu|auto] [--torch] [--quick]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { parse } from 'yaml';
import { PyramidMamba, Trainer, inferAnomalyMaps, presetConfig, useBackend, type BackendChoice, type PresetName } from '@pmamba/model';
import { applyTestWeights } from '../packages/model/test/support/test-weights.ts';
import { machineLine } from './machine.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
const backend = await useBackend(option('backend', 'auto') as BackendChoice, () => {});
console.log(machineLine(`backend ${backend}`));

const ROOT = join(import.meta.dirname, '..');
const quick = flag('quick');

function imagesNhwc(n: number, size: number): tf.Tensor4D {
  return tf.randomNormal([n, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

function timeInference(size: number, n: number): number {
  const model = new PyramidMamba(presetConfig('reference'));
  applyTestWeights(model.params, 0);
  const x = new Float32Array(n * 3 * size * size).map((_, i) => Math.sin(i * 0.37));
  inferAnomalyMaps(model, x.subarray(0, 3 * size * size), 1, size); // warm-up
  const t0 = performance.now();
  inferAnomalyMaps(model, x, n, size, { batchSize: n });
  const s = (performance.now() - t0) / 1000;
  model.dispose();
  return s;
}

function timeTrainStep(preset: PresetName, size: number, batch: number): number {
  const model = new PyramidMamba(presetConfig(preset), 1);
  const trainer = new Trainer(model, { lr: 0.005 * batch / 16, seed: 1 });
  const x = imagesNhwc(batch, size);
  trainer.step(x); // warm-up: kernels compiled, optimizer state allocated
  const t0 = performance.now();
  trainer.step(x);
  const s = (performance.now() - t0) / 1000;
  x.dispose();
  model.dispose();
  return s;
}

function torchTiming(what: 'infer' | 'train', size: number, batch: number): number | null {
  const ref = process.env.PMAMBA_REFERENCE_DIR ?? join(ROOT, '../shared/reference');
  if (!existsSync('/usr/bin/python3') || !existsSync(join(ref, 'pmamba_ref.py'))) return null;
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'bench/torch/model_timing.py'), '--reference', ref, '--size', String(size), '--batch', String(batch), '--what', what], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`torch ${what}: not run (${(r.stderr || '').trim().split('\n').pop()})`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!).seconds as number;
}

const demo = parse(readFileSync(join(ROOT, 'configs/quickstart.yaml'), 'utf8'));
const demoSize: number = demo.dataset?.imageSize ?? 128;
const demoBatch: number = demo.training?.batchSize ?? 8;
const size = quick ? 128 : 256;
const batch = 2;

const rows: { what: string; ours: number; unit: string; torch?: number | null }[] = [];
const inf = timeInference(size, batch);
rows.push({ what: `inference ${size}² (reference model, batch ${batch})`, ours: batch / inf, unit: 'images/s', torch: flag('torch') ? torchTiming('infer', size, batch) : undefined });
// Batch 1: at 256² a batch of 2 outgrows the wasm backend's 4 GiB heap (tfjs-node has no such limit).
const tr = timeTrainStep('reference', size, 1);
rows.push({ what: `training step ${size}² (reference model, batch 1)`, ours: tr, unit: 's/image' });
// PyTorch's sequential-scan autograd needs tens of minutes at 256²: compare training at 64².
if (flag('torch')) {
  const tr64 = timeTrainStep('reference', 64, batch);
  rows.push({ what: `training step 64² (reference model, batch ${batch})`, ours: tr64 / batch, unit: 's/image', torch: torchTiming('train', 64, batch) });
}
const trDemo = timeTrainStep(demo.model?.preset ?? 'small', demoSize, demoBatch);
rows.push({ what: `training step ${demoSize}² (demo: ${demo.model?.preset ?? 'small'} preset, batch ${demoBatch})`, ours: trDemo / demoBatch, unit: 's/image' });

for (const r of rows) {
  let line = `${r.what}: ${r.ours.toFixed(3)} ${r.unit}`;
  if (r.torch != null) {
    const torchRate = r.unit === 'images/s' ? batch / r.torch : r.torch / batch;
    const speedup = r.unit === 'images/s' ? r.ours / torchRate : torchRate / r.ours;
    line += ` | PyTorch reference ${torchRate.toFixed(3)} ${r.unit} | ours ${speedup.toFixed(2)}× ${speedup >= 1 ? 'faster' : 'slower'}`;
  }
  console.log(line);
}

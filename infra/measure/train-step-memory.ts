// Peak memory of training steps, in one process, as a worker's sandboxed train-shard child runs
// them: a model of a preset, an AdamW trainer, a batch of random 256² images, two steps (the first
// allocates the optimiser state and compiles kernels). Prints the process's peak RSS
// (getrusage maxRSS) after building the model and after the steps, and the step time.
//   npx tsx infra/measure/train-step-memory.ts [--preset small|reference] [--size 256] [--batch 1] [--backend wasm]
// docs/deploy.md ("Sizing") gives the numbers measured with it.
import * as tf from '@tensorflow/tfjs-core';
import { PyramidMamba, Trainer, presetConfig, useBackend, type BackendChoice, type PresetName } from '@pmamba/model';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const preset = option('preset', 'small') as PresetName;
const size = Number(option('size', '256'));
const batch = Number(option('batch', '1'));
const steps = Number(option('steps', '2'));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const rssStart = peakRss();
const backend = await useBackend(option('backend', 'wasm') as BackendChoice, () => {});
const model = new PyramidMamba(presetConfig(preset), 1);
const trainer = new Trainer(model, { lr: (0.005 * batch) / 16, seed: 1 });
const rssModel = peakRss();
const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  trainer.step(x);
  times.push((performance.now() - t0) / 1000);
}
const rssSteps = peakRss();
console.log(
  JSON.stringify({
    preset,
    size,
    batch,
    backend,
    node: process.version,
    peakRssStart: mib(rssStart),
    peakRssModel: mib(rssModel),
    peakRssAfterSteps: mib(rssSteps),
    peakRssBytes: rssSteps,
    stepSeconds: times.map((t) => Number(t.toFixed(2))),
  }),
);
x.dispose();
model.dispose();
process.exit(0);

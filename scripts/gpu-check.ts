// Checks that pmamba runs on a GPU host (scripts/gpu-check.sh wraps this; docs/gpu.md explains):
// loads the backend and says which one and whether it sees a GPU, checks that the `ops` cross
// selective scan (what `model.scan: auto` runs on the tensorflow backends) equals the `kernels`
// one, forward and all gradients, then times training steps of the small preset and prints img/s.
//   npx tsx scripts/gpu-check.ts [--backend tensorflow-gpu|tensorflow|wasm|cpu|auto] [--scan auto|kernels|ops]
//                                [--size 64] [--batch 8] [--repeats 3]
// Exits 1 when the backend does not load or the two scans disagree.
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '../packages/model/src/ops/register-tfjs-gradients.ts';
import { useBackend, usingGpu } from '../packages/model/src/backend.ts';
import type { BackendChoice } from '../packages/model/src/backend-names.ts';
import { presetConfig } from '../packages/model/src/config.ts';
import { PyramidMamba } from '../packages/model/src/model.ts';
import { Trainer } from '../packages/model/src/training/trainer.ts';
import { crossSelectiveScan } from '../packages/model/src/ops/scan/cross-selective-scan.ts';
import { resolveScanMode, withScanMode, type ScanMode } from '../packages/model/src/ops/scan/scan-mode.ts';
import { shutdownScanPool } from '../packages/model/src/ops/scan/scan-pool.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'tensorflow-gpu' },
    scan: { type: 'string', default: 'auto' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '8' },
    repeats: { type: 'string', default: '3' },
  },
});
const say = (m: string) => console.log(`gpu-check: ${m}`);
/** Agreement the test suite holds the two scans to (packages/model/test/scan-ops.test.ts). */
const TOLERANCE = 1e-5;

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

/** Largest relative difference between the ops and kernels scans over y and the seven gradients. */
function scanAgreement(): { worst: number; what: string } {
  const [B, H, W, D, N, K] = [2, 6, 10, 8, 4, 4]; // 60 steps: several levels of the ops scan
  const xs = tf.tidy(() => [
    tf.randomNormal([B, H, W, D], 0, 1, 'float32', 1), tf.randomNormal([B, H, W, K, D], -1, 1.5, 'float32', 2),
    tf.neg(tf.exp(tf.randomNormal([K, D, N], 0, 0.7, 'float32', 3))), tf.randomNormal([B, H, W, K, N], 0, 1, 'float32', 4),
    tf.randomNormal([B, H, W, K, N], 0, 1, 'float32', 5), tf.randomNormal([K, D], 0.5, 0.5, 'float32', 6),
    tf.randomNormal([K, D], -1, 0.5, 'float32', 7),
  ]);
  const w = tf.randomNormal([B, H, W, D], 0, 1, 'float32', 8);
  const run = (scan: ScanMode) => {
    const f = (...a: tf.Tensor[]) => crossSelectiveScan(a[0] as tf.Tensor4D, a[1], a[2], a[3], a[4], a[5], a[6], { scan });
    const outs = tf.tidy(() => [f(...xs), ...tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs)]);
    const host = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outs);
    return host;
  };
  const ops = run('ops');
  const kernels = run('kernels');
  tf.dispose([...xs, w]);
  const names = ['y', 'du', 'ddelta', 'dA', 'dB', 'dC', 'dDs', 'ddeltaBias'];
  const errs = ops.map((o, i) => relErr(o, kernels[i]));
  const worst = Math.max(...errs);
  return { worst, what: names.map((n, i) => `${n} ${errs[i].toExponential(1)}`).join(', ') };
}

/** Seconds of the fastest of `repeats` training steps (after one warm-up) at `size`², batch `batch`. */
function trainStepSeconds(scan: ScanMode, size: number, batch: number, repeats: number): number {
  const model = new PyramidMamba(presetConfig('small', { scan }), 1);
  const trainer = new Trainer(model, { lr: (0.005 * batch) / 16, seed: 1 });
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  // The model's scan mode, applied around the step as the model's own forward pass would.
  const step = () => withScanMode(model.config.scan, () => trainer.step(x));
  step(); // warm-up: kernels compiled or traced, optimizer state allocated
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    step(); // returns the loss as a number: the step has finished on the device
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  tf.dispose(x);
  trainer.dispose();
  model.dispose();
  return best;
}

async function main(): Promise<number> {
  const size = Number(args.size);
  const batch = Number(args.batch);
  const repeats = Number(args.repeats);
  const scan = args.scan as ScanMode;
  let name: string;
  try {
    name = await useBackend(args.backend as BackendChoice, (m) => say(m.replace(/^pmamba: /, '')));
  } catch (e) {
    say(`FAILED to load --backend ${args.backend}: ${(e as Error).message}`);
    return 1;
  }
  say(`backend ${name} loaded (tfjs backend "${tf.getBackend()}", GPU: ${usingGpu() ? 'yes' : 'no'}); tfjs-core ${tf.version_core}; ` +
    `node ${process.version}`);

  const { worst, what } = scanAgreement();
  const ok = worst < TOLERANCE;
  say(`ops scan vs kernels scan (B=2, 6×10, D=8, N=4; output and all 7 gradients): max relative difference ` +
    `${worst.toExponential(1)} (${what}) → ${ok ? 'ok' : `FAILED (over ${TOLERANCE})`}`);

  const s = trainStepSeconds(scan, size, batch, repeats);
  say(`training step, small preset, ${size}², batch ${batch}, model.scan ${scan} → ${resolveScanMode(scan)}: ` +
    `${s.toFixed(3)} s = ${(batch / s).toFixed(1)} img/s (best of ${repeats} after a warm-up)`);
  return ok ? 0 : 1;
}

const code = await main();
await shutdownScanPool();
process.exit(code);

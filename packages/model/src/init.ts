import * as tf from '@tensorflow/tfjs-core';
import { toTorchPerm, type InitSpec, type ParamEntry, type ParamRegistry } from './params.ts';
import { inversePerm, permute } from './weights/permute.ts';
import { mulberry32, normalFrom } from './rng.ts';

/** Fills one float array of `n` values per an init spec (torch's schemes, own PRNG). */
export function initValues(spec: InitSpec, torchShape: readonly number[], next: () => number): Float32Array {
  const n = torchShape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const normal = normalFrom(next);
  switch (spec.kind) {
    case 'zeros': break;
    case 'ones': out.fill(1); break;
    case 'normal': for (let i = 0; i < n; i++) out[i] = spec.std * normal(); break;
    case 'truncNormal':
      // torch.nn.init.trunc_normal_ cuts at ±2 (absolute), i.e. far beyond ±2σ for σ = 0.02.
      for (let i = 0; i < n; i++) { let v; do v = spec.std * normal(); while (v < -2 || v > 2); out[i] = v; }
      break;
    case 'uniform': for (let i = 0; i < n; i++) out[i] = spec.bound * (2 * next() - 1); break;
    case 'dtBias':
      // softplus(bias) log-uniform in [min, max]: bias = dt + log(−expm1(−dt)).
      for (let i = 0; i < n; i++) {
        const dt = Math.max(1e-4, Math.exp(next() * (Math.log(spec.max) - Math.log(spec.min)) + Math.log(spec.min)));
        out[i] = dt + Math.log(-Math.expm1(-dt));
      }
      break;
    case 'aLog': {
      // S4D-real: A = −[1..N] per row, stored as log.
      const cols = torchShape[torchShape.length - 1];
      for (let i = 0; i < n; i++) out[i] = Math.log((i % cols) + 1);
      break;
    }
  }
  return out;
}

/** Assigns torch-layout values to an entry's tfjs-layout variable. */
export function assignTorchValues(e: ParamEntry, values: Float32Array): void {
  const perm = toTorchPerm(e.layout);
  const data = perm ? permute(values, e.torchShape, inversePerm(perm)) : values;
  tf.tidy(() => e.variable.assign(tf.tensor(data, e.variable.shape)));
}

/** Official-style random initialisation of every parameter, from a seed. */
export function initialize(reg: ParamRegistry, seed: number): void {
  const next = mulberry32(seed);
  for (const e of reg.entries.values()) assignTorchValues(e, initValues(e.init, e.torchShape, next));
}

import type { ParamRegistry } from '../../src/params.ts';
import { assignTorchValues } from '../../src/init.ts';

/**
 * Deterministic, non-trivial weights for cross-implementation tests: every value is a hash of
 * (seed, parameter name, index), so the PyTorch side (packages/model/test/fixtures/make_golden.py)
 * draws the very same tensors and only inputs and outputs need committing. The rules keep
 * activations O(1) through the frozen ResNet and make the selective scan matter.
 */
export function applyTestWeights(reg: ParamRegistry, seed: number): void {
  for (const e of reg.entries.values()) assignTorchValues(e, testValues(e.name, e.torchShape, seed));
}

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** n values in [0, 1): fmix32(key + i·golden) / 2^32. */
export function testUniform(name: string, n: number, seed: number): Float64Array {
  const key = (fnv1a32(name) ^ Math.imul(seed + 1, 0x85ebca77)) >>> 0;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = fmix32((key + Math.imul(i, 0x9e3779b1)) >>> 0) / 2 ** 32;
  return out;
}

function isNorm(parts: string[]): boolean {
  const mod = parts[parts.length - 2];
  return mod.startsWith('bn') || mod === 'ln_1' || mod === 'out_norm' || mod === 'norm' || (mod === '1' && parts[parts.length - 3] === 'downsample');
}

function isResidualLastBn(parts: string[]): boolean {
  const mod = parts[parts.length - 2];
  const inBlock = parts.some((p) => p.startsWith('layer')) || parts.includes('bn_layer');
  return inBlock && (mod === 'bn3' || (mod === 'bn2' && parts[0] === 'net_t'));
}

/** The value rules by parameter name (torch layout, row-major). */
export function testValues(name: string, shape: readonly number[], seed: number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = testUniform(name, n, seed);
  const parts = name.split('.');
  const leaf = parts[parts.length - 1];
  const out = new Float32Array(n);
  const f = (g: (u: number, v: number, i: number) => number) => { for (let i = 0; i < n; i++) out[i] = g(u[i], 2 * u[i] - 1, i); };
  if (leaf === 'running_mean') f((_, v) => 0.1 * v);
  else if (leaf === 'running_var') f((x) => 0.75 + 0.5 * x);
  else if (leaf === 'A_logs') f((_, v, i) => Math.log((i % shape[shape.length - 1]) + 1) - 1.5 + 0.1 * v);
  else if (leaf === 'Ds') f((_, v) => 0.3 + 0.1 * v);
  else if (leaf === 'dt_projs_bias') {
    f((x) => {
      const dt = Math.exp(x * (Math.log(1) - Math.log(0.05)) + Math.log(0.05));
      return dt + Math.log(-Math.expm1(-dt));
    });
  } else if (leaf === 'x_proj_weight' || leaf === 'dt_projs_weight') f((_, v) => shape[2] ** -0.5 * v);
  else if (isNorm(parts)) {
    if (leaf === 'weight') f((_, v) => (isResidualLastBn(parts) ? 0.25 + 0.05 * v : 1 + 0.1 * v));
    else f((_, v) => 0.1 * v);
  } else if (leaf === 'weight' && shape.length === 4) {
    const fanIn = shape[1] * shape[2] * shape[3];
    f((_, v) => Math.sqrt(3) * Math.sqrt(2 / fanIn) * v);
  } else if (leaf === 'weight' && shape.length === 2) {
    const gain = name.endsWith('out_proj.weight') ? 0.5 : 1;
    f((_, v) => (Math.sqrt(3) * gain / Math.sqrt(shape[1])) * v);
  } else if (leaf === 'bias') f((_, v) => 0.05 * v);
  else throw new Error(`no test-value rule for ${name} [${shape.join(', ')}]`);
  return out;
}

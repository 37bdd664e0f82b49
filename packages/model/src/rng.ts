import * as tf from '@tensorflow/tfjs-core';
import type { RandomSource } from './layers/context.ts';

/** A small seedable PRNG (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a uniform source. */
export function normalFrom(next: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u === 0) u = next();
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * next();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

/** Seeded random tensors for feature noise and stochastic depth: same seed, same stream. */
export function seededRandom(seed: number): RandomSource & { readonly calls: number; advance(n: number): void } {
  let calls = 0;
  const nextSeed = () => (seed * 1000003 + ++calls) >>> 0;
  return {
    get calls() { return calls; },
    /** Moves the stream `n` draws ahead (a resumed trainer continues where it stopped). */
    advance(n: number) {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`cannot advance by ${n} random draws`);
      calls += n;
    },
    normal: (shape, std) => tf.randomNormal(shape, 0, std, 'float32', nextSeed()),
    bernoulli: (shape, keep) => tf.tidy(() => tf.cast(tf.less(tf.randomUniform(shape, 0, 1, 'float32', nextSeed()), keep), 'float32')),
  };
}

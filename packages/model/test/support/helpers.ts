import { mulberry32, normalFrom } from '../../src/rng.ts';

/** Deterministic N(0, 1) samples, identical on every backend. */
export function randn(n: number, seed: number): Float32Array {
  const normal = normalFrom(mulberry32(seed));
  return Float32Array.from({ length: n }, normal);
}

/** max |a − b| / max |b| (max |a − b| when b is all zeros). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`relErr: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return den === 0 ? num : num / den;
}

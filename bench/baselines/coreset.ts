/**
 * Greedy k-center coreset (as PatchCore builds its memory bank): starting from one seeded
 * random vector, repeatedly add the vector farthest from everything chosen so far. The bank
 * then covers the rare-but-normal corners of the training distribution that a random sample of
 * the same size would miss, which is where a random bank raises false alarms.
 *
 * @example
 * const rows = greedyCoreset(vectors, 24, 4096, createRng(7)); // indices of the chosen vectors
 */
import type { Rng } from '../../packages/data/src/index.ts';

/** Indices (in selection order) of `count` vectors of `vectors` (n·dim floats) forming a k-center coreset. */
export function greedyCoreset(vectors: Float32Array, dim: number, count: number, rng: Rng): Int32Array {
  const n = vectors.length / dim;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`greedyCoreset: ${vectors.length} floats are not a whole number of ${dim}-vectors`);
  const k = Math.min(count, n);
  const chosen = new Int32Array(k);
  const nearest = new Float64Array(n).fill(Infinity); // squared distance to the closest chosen vector
  let next = Math.floor(rng.next() * n);
  for (let c = 0; c < k; c++) {
    chosen[c] = next;
    const o = next * dim;
    let far = -1;
    let farIndex = 0;
    for (let i = 0; i < n; i++) {
      const p = i * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const e = vectors[p + d] - vectors[o + d];
        s += e * e;
      }
      if (s < nearest[i]) nearest[i] = s;
      if (nearest[i] > far) {
        far = nearest[i];
        farIndex = i;
      }
    }
    next = farIndex;
  }
  return chosen;
}

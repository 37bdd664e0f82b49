/**
 * Row-major `data` of `shape` with its axes reordered by `perm` (output axis i = input axis
 * perm[i]). Done in JS: one tf.transpose per tensor costs ~15 s for a whole model on wasm.
 */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  inStrides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const strides = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    for (let a = rank - 1; a >= 0; a--) {
      index[a]++;
      src += strides[a];
      if (index[a] < outShape[a]) break;
      src -= strides[a] * outShape[a];
      index[a] = 0;
    }
  }
  return out;
}

/** Inverse of a permutation. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return inv;
}

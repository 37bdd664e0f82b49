/**
 * Least-significant-digit radix sort of unsigned 32-bit keys, optionally carrying a payload
 * array along. Three passes of 11 bits; a pass whose digit is the same for every key (common
 * when scores share a sign and exponent range) is skipped.
 *
 * Memory: one scratch array per input array (the sorted result may live in either), so a sort of
 * n keys with payload needs 16·n bytes in total.
 *
 * @example
 * const { keys } = radixSortUint32(new Uint32Array([3, 1, 2])); // Uint32Array [1, 2, 3]
 */

const BITS = 11;
const RADIX = 1 << BITS;
const MASK = RADIX - 1;
const PASSES = 3;

/** A sorted key array and its payload, permuted the same way. */
export interface SortedKeys {
  keys: Uint32Array;
  payload: Uint32Array | undefined;
}

/**
 * Sorts `keys` ascending (stable). The inputs are consumed: they may be overwritten and the
 * returned arrays may be them or fresh scratch arrays.
 */
export function radixSortUint32(keys: Uint32Array, payload?: Uint32Array): SortedKeys {
  const n = keys.length;
  if (payload !== undefined && payload.length !== n) {
    throw new RangeError(`radixSortUint32: payload length ${payload.length} != keys length ${n}`);
  }
  if (n < 2) return { keys, payload };

  const counts = new Uint32Array(RADIX * PASSES);
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    counts[k & MASK]++;
    counts[RADIX + ((k >>> BITS) & MASK)]++;
    counts[2 * RADIX + (k >>> (2 * BITS))]++;
  }

  let src = keys;
  let srcPay = payload;
  let dst: Uint32Array | undefined;
  let dstPay: Uint32Array | undefined;
  const offsets = new Uint32Array(RADIX);
  for (let pass = 0; pass < PASSES; pass++) {
    const base = pass * RADIX;
    let trivial = false;
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[base + d];
      if (c === n) trivial = true;
      offsets[d] = sum;
      sum += c;
    }
    if (trivial) continue;
    dst ??= new Uint32Array(n);
    if (srcPay !== undefined) dstPay ??= new Uint32Array(n);
    const shift = pass * BITS;
    if (srcPay === undefined || dstPay === undefined) {
      for (let i = 0; i < n; i++) {
        const k = src[i];
        dst[offsets[(k >>> shift) & MASK]++] = k;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const k = src[i];
        const at = offsets[(k >>> shift) & MASK]++;
        dst[at] = k;
        dstPay[at] = srcPay[i];
      }
    }
    [src, dst] = [dst, src];
    [srcPay, dstPay] = [dstPay, srcPay];
  }
  return { keys: src, payload: srcPay };
}

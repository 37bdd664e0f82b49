/**
 * Order-preserving 32-bit keys for float32 scores: `a < b` as floats exactly when
 * `key(a) < key(b)` as unsigned integers, and equal floats get equal keys (−0 and +0 included).
 * Sorting keys instead of floats lets a radix sort rank a hundred million pixels.
 *
 * @example
 * const bits = new Int32Array(new Float32Array([-1, 0.5]).buffer);
 * float32SortKey(bits[0]) >>> 0 < float32SortKey(bits[1]) >>> 0; // true
 */

/**
 * The key of a float32 given by its raw bits read as an int32. The result is an int32 too;
 * store it in a Uint32Array (or apply `>>> 0`) to get the unsigned key. Negative floats have
 * all bits flipped, the others only the sign bit; −0 gets the key of +0, as numpy and
 * scikit-learn tie them.
 */
export function float32SortKey(bits: number): number {
  return bits === -0x80000000 ? -0x80000000 : bits ^ ((bits >> 31) | -0x80000000);
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The float32 value (as a JS number) that an unsigned key encodes. */
export function keyToFloat32(key: number): number {
  scratchU32[0] = (key & 0x80000000) !== 0 ? key ^ 0x80000000 : ~key;
  return scratchF32[0];
}

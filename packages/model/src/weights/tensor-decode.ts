/**
 * Raw little-endian tensor bytes to the typed arrays weight readers return (safetensors, torch
 * .pth): F16, BF16 and F64 widen to Float32Array, the model's one float type.
 */
import type { SafeDtype, SafeTensor } from './safetensors.ts';

export const ITEM_SIZE: Record<SafeDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes `count` items of `dtype` held in `buf` (which the result may share). */
export function decodeTensor(dtype: SafeDtype, buf: ArrayBuffer, count: number): SafeTensor['data'] {
  switch (dtype) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return Float32Array.from(new Float64Array(buf));
    case 'F16': return Float32Array.from(new Uint16Array(buf), f16ToF32);
    case 'BF16': {
      const u = new Uint16Array(buf);
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = u[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'I64': return new BigInt64Array(buf);
    case 'I32': return new Int32Array(buf);
    case 'I16': return new Int16Array(buf);
    case 'I8': return new Int8Array(buf);
    case 'U8': case 'BOOL': return new Uint8Array(buf);
  }
}

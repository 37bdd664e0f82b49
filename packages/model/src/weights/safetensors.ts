/**
 * safetensors: u64 LE header length | JSON header | raw little-endian C-order data.
 * Header: {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}.
 */
import { ITEM_SIZE, decodeTensor } from './tensor-decode.ts';
import { SafetensorsError } from '../errors.ts';

export type SafeDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  /** F16/BF16/F64 decode to Float32Array; I64 to BigInt64Array. */
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
}

export interface SafeFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** Parses a safetensors file; `source` names it in errors. */
export function readSafetensors(bytes: Uint8Array, source = 'safetensors file'): SafeFile {
  if (bytes.byteLength < 8) throw new SafetensorsError(`${source}: too short to be safetensors (${bytes.byteLength} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.byteLength) throw new SafetensorsError(`${source}: header length ${n} exceeds the file (${bytes.byteLength} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsError(`${source}: header is not JSON (${(e as Error).message})`);
  }
  const base = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, SafeTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype: SafeDtype; shape: number[]; data_offsets: [number, number] };
    const size = ITEM_SIZE[info.dtype];
    if (!size) throw new SafetensorsError(`${source}: tensor ${name} has unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((a, c) => a * c, 1);
    if (e - b !== count * size || base + e > bytes.byteLength) {
      throw new SafetensorsError(`${source}: tensor ${name} (${info.dtype} ${JSON.stringify(info.shape)}) has offsets [${b}, ${e}] inconsistent with its shape or the file size`);
    }
    // Copy into an aligned buffer of its own (offsets need not be aligned to the item size).
    // Not bytes.slice: on a Node Buffer (readFileSync) it is a view of the whole file.
    const buf = new Uint8Array(bytes.subarray(base + b, base + e)).buffer;
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data: decodeTensor(info.dtype, buf, count) });
  }
  return { tensors, metadata };
}

/** Serialises tensors (laid out by descending item size, then name, as the reference library does). */
export function writeSafetensors(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort((a, b) => {
    const d = ITEM_SIZE[tensors.get(b)!.dtype] - ITEM_SIZE[tensors.get(a)!.dtype];
    return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const nbytes = t.data.byteLength;
    const expect = t.shape.reduce((a, c) => a * c, 1) * ITEM_SIZE[t.dtype];
    if (nbytes !== expect) throw new SafetensorsError(`tensor ${name}: ${nbytes} bytes of data for ${t.dtype} ${JSON.stringify(t.shape)}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + nbytes] };
    offset += nbytes;
  }
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const hb = new TextEncoder().encode(JSON.stringify(header));
  const padded = hb.length % 8 === 0 ? hb : new Uint8Array([...hb, ...new Uint8Array(8 - (hb.length % 8)).fill(0x20)]);
  const out = new Uint8Array(8 + padded.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded.length), true);
  out.set(padded, 8);
  let at = 8 + padded.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

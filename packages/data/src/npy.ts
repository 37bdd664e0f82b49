/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), for exchanging scores, maps and masks
 * with numpy users.
 *
 * Reads little- or big-endian float32/float64, (u)int8/16/32/64 and bool arrays in C order;
 * Fortran-ordered files are refused with an error (transpose them in numpy first).
 * Writes little-endian, C order, version 1.0 (2.0 when the header needs it).
 *
 * @example
 * writeNpy('scores.npy', new Float32Array([0.1, 0.9]), [2]);
 * const { data, shape, dtype } = readNpy('scores.npy'); // Float32Array, [2], 'float32'
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { NpyError } from './errors.ts';

/** Element types we read; `bool` arrays come back as 0/1 bytes. */
export type NpyDtype =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

/** The typed array that holds each dtype. */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A decoded array: flat data in C (row-major) order plus its shape. */
export interface NpyArray {
  data: NpyData;
  shape: number[];
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
  make: (buf: ArrayBuffer, offset: number, length: number) => NpyData;
}

const DTYPES: Record<string, DtypeInfo> = {
  f4: { dtype: 'float32', size: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  f8: { dtype: 'float64', size: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  i1: { dtype: 'int8', size: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  u1: { dtype: 'uint8', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  b1: { dtype: 'bool', size: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  i2: { dtype: 'int16', size: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  u2: { dtype: 'uint16', size: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  i4: { dtype: 'int32', size: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  u4: { dtype: 'uint32', size: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  i8: { dtype: 'int64', size: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  u8: { dtype: 'uint64', size: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
};

const DESCR_OF: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  uint8: '|u1',
  bool: '|b1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  uint32: '<u4',
  int64: '<i8',
  uint64: '<u8',
};

function assertLittleEndianHost(): void {
  // Typed arrays use the host's byte order; every platform Node ships on is little-endian.
  if (endianness() !== 'LE') throw new Error('npy: big-endian hosts are not supported');
}

/** Reads the value of `key` from the header's Python dict literal. */
function headerField(header: string, key: string, where: string): string {
  const m = new RegExp(`['"]${key}['"]\\s*:\\s*`).exec(header);
  if (!m) throw new NpyError('E_NPY_FORMAT', `${where}: npy header has no '${key}' field`, where);
  const rest = header.slice(m.index + m[0].length);
  if (rest.startsWith('(')) {
    const end = rest.indexOf(')');
    if (end < 0) throw new NpyError('E_NPY_FORMAT', `${where}: npy header has an unclosed shape tuple`, where);
    return rest.slice(0, end + 1);
  }
  const q = rest[0];
  if (q === "'" || q === '"') {
    const end = rest.indexOf(q, 1);
    if (end < 0) throw new NpyError('E_NPY_FORMAT', `${where}: npy header has an unclosed string`, where);
    return rest.slice(1, end);
  }
  const m2 = /^[A-Za-z0-9_]+/.exec(rest);
  if (!m2) throw new NpyError('E_NPY_FORMAT', `${where}: npy header field '${key}' is malformed`, where);
  return m2[0];
}

function parseShape(text: string, where: string): number[] {
  const inner = text.slice(1, -1).trim();
  if (inner === '') return [];
  const parts = inner.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return parts.map((p) => {
    const n = Number(p.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) {
      throw new NpyError('E_NPY_FORMAT', `${where}: npy shape ${text} has a bad dimension '${p}'`, where);
    }
    return n;
  });
}

/**
 * Decodes `.npy` bytes. The returned data never aliases `bytes` unless it is suitably aligned
 * little-endian data; copy it if you mean to mutate the source buffer afterwards.
 */
export function parseNpy(bytes: Uint8Array, where = '<buffer>'): NpyArray {
  assertLittleEndianHost();
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError('E_NPY_FORMAT', `${where}: not a .npy file (missing \\x93NUMPY magic)`, where);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError('E_NPY_FORMAT', `${where}: truncated npy header`, where);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError('E_NPY_FORMAT', `${where}: unsupported npy format version ${major}.${bytes[7]}`, where);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new NpyError('E_NPY_FORMAT', `${where}: truncated npy header`, where);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  const descr = headerField(header, 'descr', where);
  const fortran = headerField(header, 'fortran_order', where);
  const shape = parseShape(headerField(header, 'shape', where), where);
  if (fortran === 'True') {
    throw new NpyError(
      'E_NPY_FORMAT',
      `${where}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray(a) first`,
      where,
    );
  }
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const info = m ? DTYPES[m[2] + m[3]] : undefined;
  if (!m || !info) {
    throw new NpyError('E_NPY_FORMAT', `${where}: unsupported npy dtype '${descr}' (structured or exotic types)`, where);
  }
  const bigEndian = m[1] === '>' && info.size > 1;
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLen = count * info.size;
  if (dataStart + byteLen > bytes.length) {
    throw new NpyError(
      'E_NPY_FORMAT',
      `${where}: truncated npy data: shape (${shape.join(', ')}) needs ${byteLen} bytes, file has ${bytes.length - dataStart}`,
      where,
    );
  }
  const absolute = bytes.byteOffset + dataStart;
  let data: NpyData;
  if (!bigEndian && absolute % info.size === 0) {
    data = info.make(bytes.buffer as ArrayBuffer, absolute, count);
  } else {
    const copy = new Uint8Array(byteLen);
    copy.set(bytes.subarray(dataStart, dataStart + byteLen));
    if (bigEndian) {
      for (let i = 0; i < byteLen; i += info.size) copy.subarray(i, i + info.size).reverse();
    }
    data = info.make(copy.buffer, 0, count);
  }
  return { data, shape, dtype: info.dtype };
}

/** Reads a `.npy` file (or decodes bytes already in memory). */
export function readNpy(source: string | Uint8Array): NpyArray {
  if (typeof source !== 'string') return parseNpy(source);
  let bytes: Buffer;
  try {
    bytes = readFileSync(source);
  } catch (err) {
    throw new NpyError('E_NPY_FORMAT', `${source}: cannot read npy file (${(err as Error).message})`, source);
  }
  return parseNpy(bytes, source);
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'uint64';
}

/**
 * Encodes an array as `.npy` bytes. `dtype` defaults to the typed array's own; pass `'bool'`
 * with a Uint8Array of 0/1 to write a numpy bool array.
 */
export function encodeNpy(data: NpyData, shape: readonly number[], dtype: NpyDtype = dtypeOf(data)): Uint8Array {
  assertLittleEndianHost();
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new NpyError('E_NPY_SHAPE', `npy: shape [${shape.join(', ')}] must be non-negative integers`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new NpyError('E_NPY_SHAPE', `npy: shape [${shape.join(', ')}] holds ${count} elements but data has ${data.length}`);
  }
  if (dtype !== dtypeOf(data) && !(dtype === 'bool' && data instanceof Uint8Array)) {
    throw new NpyError('E_NPY_SHAPE', `npy: dtype ${dtype} does not match a ${data.constructor.name}`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${DESCR_OF[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Header (magic + version + length + dict + '\n') is padded to a multiple of 64 bytes.
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  dict = dict.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = prefix === 10 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, dict.length, true);
  else view.setUint32(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[prefix + i] = dict.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Writes an array to a `.npy` file (C order, little-endian). */
export function writeNpy(path: string, data: NpyData, shape: readonly number[], dtype?: NpyDtype): void {
  writeFileSync(path, encodeNpy(data, shape, dtype));
}

/** Converts any decoded npy data to float32 (int64 via Number; precision beyond 2^24 is lost). */
export function npyToFloat32(data: NpyData): Float32Array {
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data);
  }
  return out;
}

/** Converts any decoded npy data to float64 (int64 via Number). */
export function npyToFloat64(data: NpyData): Float64Array {
  if (data instanceof Float64Array) return data;
  const out = new Float64Array(data.length);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data);
  }
  return out;
}

/**
 * PyTorch checkpoints written by torch.save: the zip format of torch ≥ 1.6 (`<name>/data.pkl`
 * plus one `<name>/data/<key>` entry per storage) and the older sequential format
 * (magic, version, system info, data pickle, storage keys, then the storages' bytes), which
 * older torchvision downloads still use. As torch.load(weights_only=True) does, only
 * OrderedDicts, tensors, parameters and typed storages are rebuilt; any other global is refused.
 */
import { unpickle, type PickleCallable, type PickleHooks } from './pickle.ts';
import { isZip, readZipDirectory, readZipEntry } from './zip.ts';
import type { SafeDtype, SafeTensor } from './safetensors.ts';
import { decodeTensor } from './tensor-decode.ts';
import { PthError, PthGlobalError } from '../errors.ts';

class StorageType {
  constructor(readonly dtype: SafeDtype, readonly itemSize: number) {}
}

const STORAGE_TYPES = new Map<string, StorageType>(([
  ['FloatStorage', 'F32', 4], ['DoubleStorage', 'F64', 8], ['HalfStorage', 'F16', 2], ['BFloat16Storage', 'BF16', 2],
  ['LongStorage', 'I64', 8], ['IntStorage', 'I32', 4], ['ShortStorage', 'I16', 2], ['CharStorage', 'I8', 1],
  ['ByteStorage', 'U8', 1], ['BoolStorage', 'BOOL', 1],
] as const).map(([name, dtype, size]) => [name, new StorageType(dtype, size)]));

class StorageRef {
  constructor(readonly key: string, readonly type: StorageType) {}
}

/** A tensor as the pickle describes it; its bytes are read once the storages are known. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {}
}

/** LONG1 of 10 bytes: torch's legacy magic number 0x1950a86a20f9469cfc6c, the stream's first pickle. */
const LEGACY_MAGIC = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** True for both torch.save formats (zip, or the legacy pickle stream). */
export function isPth(bytes: Uint8Array): boolean {
  return isZip(bytes) || isLegacyPth(bytes);
}

function isLegacyPth(bytes: Uint8Array): boolean {
  // PROTO n, then (protocol ≥ 4) a FRAME opcode with its 8-byte length, then the magic number.
  const at = bytes[2] === 0x95 ? 11 : 2;
  return bytes.length > at + LEGACY_MAGIC.length && bytes[0] === 0x80 && LEGACY_MAGIC.every((b, i) => bytes[at + i] === b);
}

/**
 * The state dict of a torch.save file: the top-level dict, or the one under `state_dict` or
 * `model` (training checkpoints). Float16 / bfloat16 / float64 tensors decode to Float32Array
 * (their dtype kept), int64 to BigInt64Array; strided views are made contiguous.
 */
export function readPth(bytes: Uint8Array, source = 'PyTorch file'): Map<string, SafeTensor> {
  if (isZip(bytes)) return readZipPth(bytes, source);
  if (isLegacyPth(bytes)) return readLegacyPth(bytes, source);
  throw new PthError(`${source}: not a torch.save file (neither a zip archive nor a legacy torch pickle); re-save it with torch ≥ 1.6 or as safetensors`);
}

function readZipPth(bytes: Uint8Array, source: string): Map<string, SafeTensor> {
  const entries = readZipDirectory(bytes, source);
  const pkl = [...entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new PthError(`${source}: the zip holds no <name>/data.pkl; it is not a torch.save checkpoint`);
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(readZipEntry(bytes, order, source)) !== 'little') {
    throw new PthError(`${source}: saved on a big-endian machine; re-save it on a little-endian one`);
  }
  const value = unpickle(readZipEntry(bytes, entries.get(pkl)!, source), stateDictHooks(source), `${source} ${pkl}`).value;
  return materialiseAll(stateDictOf(value, source), (key) => {
    const e = entries.get(`${prefix}data/${key}`);
    if (!e) throw new PthError(`${source}: storage ${key} is referenced but ${prefix}data/${key} is missing; the file is incomplete`);
    return readZipEntry(bytes, e, source);
  }, source);
}

function readLegacyPth(bytes: Uint8Array, source: string): Map<string, SafeTensor> {
  const types = new Map<string, StorageType>();
  const hooks = stateDictHooks(source, types);
  let at = 0;
  const next = (what: string) => {
    const r = unpickle(bytes, hooks, `${source} (${what})`, at);
    at = r.end;
    return r.value;
  };
  next('magic number');
  const version = next('protocol version');
  if (version !== 1001) throw new PthError(`${source}: legacy torch format version ${String(version)} is not 1001; re-save it with torch ≥ 1.6`);
  const info = next('system info');
  if (info instanceof Map && info.get('little_endian') === false) throw new PthError(`${source}: saved on a big-endian machine; re-save it on a little-endian one`);
  const value = next('data');
  const keys = next('storage keys');
  if (!Array.isArray(keys)) throw new PthError(`${source}: the legacy storage key list is not a list; the file is corrupt`);
  // Each storage: int64 element count, then its bytes, in the order of the key list.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Map<string, Uint8Array>();
  for (const key of keys) {
    const type = types.get(key);
    if (!type) throw new PthError(`${source}: storage ${String(key)} is listed but never referenced; the file is corrupt`);
    if (at + 8 > bytes.length) throw new PthError(`${source}: storage ${key} is cut off; the file is truncated`);
    const n = Number(view.getBigInt64(at, true)) * type.itemSize;
    if (at + 8 + n > bytes.length) throw new PthError(`${source}: storage ${key} (${n} bytes) is cut off; the file is truncated`);
    data.set(key, bytes.subarray(at + 8, at + 8 + n));
    at += 8 + n;
  }
  return materialiseAll(stateDictOf(value, source), (key) => {
    const d = data.get(key);
    if (!d) throw new PthError(`${source}: storage ${key} is referenced but not stored; the file is incomplete`);
    return d;
  }, source);
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * The whitelist: the globals a state dict pickles, and torch's persistent storage ids (their
 * types recorded in `types`: legacy files need them to find where each storage ends).
 */
function stateDictHooks(source: string, types = new Map<string, StorageType>()): PickleHooks {
  const callables: Record<string, PickleCallable> = {
    'collections.OrderedDict': (args) => new Map((args[0] ?? []) as [unknown, unknown][]),
    'torch._utils._rebuild_tensor_v2': ([storage, offset, shape, stride]) => {
      if (!(storage instanceof StorageRef) || !num(offset) || !Array.isArray(shape) || !Array.isArray(stride)
        || shape.length !== stride.length || !shape.every(num) || !stride.every(num)) {
        throw new PthError(`${source}: a tensor is pickled with malformed storage, offset, sizes or strides; the file is corrupt`);
      }
      return new TensorRef(storage, offset, shape, stride);
    },
    'torch._utils._rebuild_parameter': ([data]) => data,
    'torch._utils._rebuild_parameter_with_state': ([data]) => data,
  };
  return {
    global(module, name) {
      const full = `${module}.${name}`;
      if (module === 'torch' && name.endsWith('Storage')) {
        const type = STORAGE_TYPES.get(name);
        if (!type) throw new PthError(`${source}: storage type ${full} is not supported (supported: ${[...STORAGE_TYPES.keys()].join(', ')})`);
        return type;
      }
      if (callables[full]) return callables[full];
      throw new PthGlobalError(`${source}: the pickle refers to ${full}, which is not part of a state dict and is not loaded (only tensors, OrderedDicts and plain values are); re-save the weights with torch.save(model.state_dict(), path)`);
    },
    persistentLoad(pid) {
      // ('storage', torch.<T>Storage, key, location, numel[, view metadata of torch < 1.0])
      if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType) || typeof pid[2] !== 'string') {
        throw new PthError(`${source}: unknown persistent id in the pickle; only torch storages are supported`);
      }
      if (pid[5] != null) throw new PthError(`${source}: storage ${pid[2]} is a storage view (torch < 1.0); re-save the file with torch ≥ 1.6`);
      types.set(pid[2], pid[1]);
      return new StorageRef(pid[2], pid[1]);
    },
  };
}

function stateDictOf(value: unknown, source: string): Map<string, TensorRef> {
  const candidates = value instanceof Map ? [value, value.get('state_dict'), value.get('model')] : [];
  for (const c of candidates) {
    if (!(c instanceof Map)) continue;
    const tensors = new Map<string, TensorRef>();
    for (const [k, v] of c) if (typeof k === 'string' && v instanceof TensorRef) tensors.set(k, v);
    if (tensors.size) return tensors;
  }
  throw new PthError(`${source}: holds no state dict (no tensors at the top level or under 'state_dict' or 'model')`);
}

function materialiseAll(refs: Map<string, TensorRef>, storage: (key: string) => Uint8Array, source: string): Map<string, SafeTensor> {
  const cache = new Map<string, Uint8Array>();
  const bytesOf = (key: string) => cache.get(key) ?? cache.set(key, storage(key)).get(key)!;
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of refs) out.set(name, materialise(name, t, bytesOf(t.storage.key), source));
  return out;
}

/** Gathers the tensor's elements in C order from (offset, sizes, strides) into a buffer of its own. */
function materialise(name: string, t: TensorRef, storage: Uint8Array, source: string): SafeTensor {
  const { dtype, itemSize: b } = t.storage.type;
  const count = t.shape.reduce((a, c) => a * c, 1);
  const last = t.shape.reduce((a, n, i) => a + (n - 1) * t.stride[i], t.offset);
  if (count > 0 && (last + 1) * b > storage.length) {
    throw new PthError(`${source}: tensor ${name} (sizes [${t.shape}], strides [${t.stride}], offset ${t.offset}) reaches past its storage ${t.storage.key} (${storage.length / b} elements); the file is corrupt`);
  }
  const out = new Uint8Array(count * b);
  if (isContiguous(t.shape, t.stride)) {
    out.set(storage.subarray(t.offset * b, (t.offset + count) * b));
  } else {
    const idx = new Array<number>(t.shape.length).fill(0);
    let src = t.offset;
    for (let i = 0; i < count; i++) {
      for (let k = 0; k < b; k++) out[i * b + k] = storage[src * b + k];
      for (let d = t.shape.length - 1; d >= 0; d--) {
        src += t.stride[d];
        if (++idx[d] < t.shape[d]) break;
        src -= t.stride[d] * t.shape[d];
        idx[d] = 0;
      }
    }
  }
  return { dtype, shape: [...t.shape], data: decodeTensor(dtype, out.buffer, count) };
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

/**
 * WebAssembly SIMD kernels that work in the tfjs wasm backend's own memory: a kernel of ours
 * reads its inputs and writes its outputs where the backend keeps tensors, with no copy in or
 * out. The module is assembled at run time (wasm-asm.ts) and imports
 * the backend's WebAssembly.Memory — shared in its multi-threaded build, exported by the
 * one-thread build.
 *
 * - transpose: a matrix in 4×4 register blocks (8 shuffles per 16 floats) over tiles of 128 source rows × 8 columns;
 *   tfjs's own is a scalar loop with a cache miss per element.
 * - adamw: AdamW's update of one parameter and its moments in one pass (optim/adamw-kernel.ts).
 * - copy, fill: memmove and memset (bulk-memory instructions), for moves and zeroing in the heap:
 *   in the multi-threaded build the heap is a SharedArrayBuffer, on which V8's TypedArray
 *   copyWithin and fill were 2× and 8× slower here (4 MB).
 *
 * @example
 * const k = heapKernels();            // null off wasm, or where the module cannot bind
 * k?.transpose(srcOffset, dstOffset, rows, cols); // 4-byte elements, byte offsets in the heap
 */
import * as tf from '@tensorflow/tfjs-core';
import { Fn, module, op } from './wasm-asm.ts';

const { i32, v128 } = op;

interface Memory { readonly buffer: ArrayBufferLike }
interface EmscriptenModule { wasmMemory?: Memory; asm?: { memory?: Memory } }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** 32-bit lanes [a, b, c, d] of shuffle(x, y) (0–3 from x, 4–7 from y) as byte lanes. */
const lanes32 = (l: readonly number[]) => l.flatMap((k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]);

/** block(src, dst, rows, cols, i0, i1, j0, j1): dst[j][i] = src[i][j] for i in [i0, i1), j in [j0, j1), all multiples of 4. */
function blockFn(): Fn {
  const f = new Fn('block', { src: 'i32', dst: 'i32', rows: 'i32', cols: 'i32', i0: 'i32', i1: 'i32', j0: 'i32', j1: 'i32' }, {
    i: 'i32', j: 'i32', s: 'i32', d: 'i32', rowB: 'i32', colB: 'i32',
    r0: 'v128', r1: 'v128', r2: 'v128', r3: 'v128', t0: 'v128', t1: 'v128', t2: 'v128', t3: 'v128',
  });
  const load = (r: string, k: number) => [...f.get('s'), ...f.get('rowB'), ...i32.const(k), ...i32.mul, ...i32.add, ...v128.load(), ...f.set(r)];
  const shuffle = (out: string, a: string, b: string, l: number[]) => [...f.get(a), ...f.get(b), ...v128.shuffle(lanes32(l)), ...f.set(out)];
  const store = (k: number, a: string, b: string, l: number[]) => [
    ...f.get('d'), ...f.get('colB'), ...i32.const(k), ...i32.mul, ...i32.add, ...f.get(a), ...f.get(b), ...v128.shuffle(lanes32(l)), ...v128.store()];
  f.body(
    f.get('cols'), i32.const(2), i32.shl, f.set('rowB'),
    f.get('rows'), i32.const(2), i32.shl, f.set('colB'),
    f.for('i', f.get('i0'), f.get('i1'), i32.const(4),
      f.for('j', f.get('j0'), f.get('j1'), i32.const(4),
        f.get('src'), f.get('i'), f.get('cols'), i32.mul, f.get('j'), i32.add, i32.const(2), i32.shl, i32.add, f.set('s'),
        f.get('dst'), f.get('j'), f.get('rows'), i32.mul, f.get('i'), i32.add, i32.const(2), i32.shl, i32.add, f.set('d'),
        load('r0', 0), load('r1', 1), load('r2', 2), load('r3', 3),
        shuffle('t0', 'r0', 'r1', [0, 4, 1, 5]), shuffle('t1', 'r0', 'r1', [2, 6, 3, 7]),
        shuffle('t2', 'r2', 'r3', [0, 4, 1, 5]), shuffle('t3', 'r2', 'r3', [2, 6, 3, 7]),
        store(0, 't0', 't2', [0, 1, 4, 5]), store(1, 't0', 't2', [2, 3, 6, 7]),
        store(2, 't1', 't3', [0, 1, 4, 5]), store(3, 't1', 't3', [2, 3, 6, 7]))),
  );
  return f;
}

/** AdamW's float32 scalars, in the order adamwFn takes them. */
const ADAMW_SCALARS = ['c1', 'b2', 'c2', 'bc', 'eps', 'decay', 'step'] as const;

/**
 * adamw(p, g, m, v, p2, m2, v2, n, c1, b2, c2, bc, eps, decay, step): for each of n floats,
 *   m2 = m + (g − m)·c1;  v2 = v·b2 + g²·c2;  p2 = p·decay − (m2 / (√v2 / bc + eps))·step,
 * every operation in float32 and in this order (the op-by-op update's), 4 lanes at a time, then
 * one by one for the last n mod 4.
 */
function adamwFn(): Fn {
  const f = new Fn('adamw', {
    p: 'i32', g: 'i32', m: 'i32', v: 'i32', p2: 'i32', m2: 'i32', v2: 'i32', n: 'i32',
    ...Object.fromEntries(ADAMW_SCALARS.map((k) => [k, 'f32'])) as Record<(typeof ADAMW_SCALARS)[number], 'f32'>,
  }, {
    i: 'i32', end4: 'i32', end: 'i32',
    ...Object.fromEntries(ADAMW_SCALARS.map((k) => [`${k}4`, 'v128'])) as Record<string, 'v128'>,
    gv: 'v128', mv: 'v128', vv: 'v128', gs: 'f32', ms: 'f32', vs: 'f32',
  });
  const lanes = (simd: boolean) => {
    const o = simd ? op.f32x4 : op.f32;
    const load = (base: string) => [...f.get(base), ...f.get('i'), ...i32.add, ...(simd ? v128.load() : op.f32.load())];
    const store = (base: string, value: number[]) => [...f.get(base), ...f.get('i'), ...i32.add, ...value, ...(simd ? v128.store() : op.f32.store())];
    const c = (k: string) => f.get(simd ? `${k}4` : k);
    const [g, m, v] = simd ? ['gv', 'mv', 'vv'] : ['gs', 'ms', 'vs'];
    return [
      ...load('g'), ...f.set(g),
      ...load('m'), ...f.get(g), ...load('m'), ...o.sub, ...c('c1'), ...o.mul, ...o.add, ...f.set(m),
      ...load('v'), ...c('b2'), ...o.mul, ...f.get(g), ...f.get(g), ...o.mul, ...c('c2'), ...o.mul, ...o.add, ...f.set(v),
      ...store('m2', f.get(m)), ...store('v2', f.get(v)),
      ...store('p2', [...load('p'), ...c('decay'), ...o.mul,
        ...f.get(m), ...f.get(v), ...o.sqrt, ...c('bc'), ...o.div, ...c('eps'), ...o.add, ...o.div, ...c('step'), ...o.mul, ...o.sub]),
    ];
  };
  f.body(
    ...ADAMW_SCALARS.map((k) => [...f.get(k), ...op.f32x4.splat, ...f.set(`${k}4`)]),
    f.get('n'), i32.const(-4), i32.and, i32.const(2), i32.shl, f.set('end4'),
    f.get('n'), i32.const(2), i32.shl, f.set('end'),
    f.for('i', i32.const(0), f.get('end4'), i32.const(16), lanes(true)),
    f.for('i', f.get('end4'), f.get('end'), i32.const(4), lanes(false)),
  );
  return f;
}

/** copy(dst, src, bytes) (memmove) and fill(dst, byte, bytes) (memset): the engine's own, for arrays in shared memory, where TypedArray copyWithin, set and fill are slow. */
function copyFn(): Fn {
  const f = new Fn('copy', { dst: 'i32', src: 'i32', bytes: 'i32' }, {});
  f.body(f.get('dst'), f.get('src'), f.get('bytes'), op.memory.copy);
  return f;
}
function fillFn(): Fn {
  const f = new Fn('fill', { dst: 'i32', byte: 'i32', bytes: 'i32' }, {});
  f.body(f.get('dst'), f.get('byte'), f.get('bytes'), op.memory.fill);
  return f;
}

/**
 * Tiles of 128 source rows × 8 source columns: each writes 8 destination rows, 512 contiguous
 * bytes each. Square 64×64 tiles wrote 64 destination rows a power-of-two stride apart, which
 * share one set of the L1 cache: [4096,512] took 3.07 ms that way, 0.43 ms this way (best of
 * 64×64, 32², 16², 8², 32×8, 64×8, 256×8, 64×4 and 128×4 on this machine).
 */
const TILE_ROWS = 128;
const TILE_COLS = 8;

/** The parts of tfjs's wasm backend a kernel of ours uses: outputs, shared buffers, and where tensors live in the heap. */
export interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  incRef(dataId: tf.DataId): void;
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
}

/** Byte offset of tensor `t`'s data in the heap. */
export function heapOffset(backend: WasmHeapBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
}

export interface HeapKernels {
  /** dst = srcᵀ for a rows × cols matrix of 4-byte elements at byte offsets src and dst of the heap. */
  transpose(src: number, dst: number, rows: number, cols: number): void;
  /** One AdamW update of n floats (adamwFn); arrays as byte offsets, scalars in ADAMW_SCALARS order. */
  adamw(p: number, g: number, m: number, v: number, p2: number, m2: number, v2: number, n: number,
    c1: number, b2: number, c2: number, bc: number, eps: number, decay: number, step: number): void;
  /** memmove of `bytes` bytes from src to dst (byte offsets; they may overlap). */
  copy(dst: number, src: number, bytes: number): void;
  /** memset of `bytes` bytes at dst to `byte`. */
  fill(dst: number, byte: number, bytes: number): void;
}

let cache: { memory: Memory; kernels: HeapKernels | null } | undefined;

/** The kernels bound to the active wasm backend's memory, or null (another backend, or it cannot bind). */
export function heapKernels(): HeapKernels | null {
  if (tf.getBackend() !== 'wasm') return null;
  const em = (tf.backend() as unknown as { wasm: EmscriptenModule }).wasm;
  const memory = em.wasmMemory ?? em.asm?.memory;
  if (!memory) return null;
  if (cache?.memory !== memory) cache = { memory, kernels: bind(memory) };
  return cache.kernels;
}

function bind(memory: Memory): HeapKernels | null {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = module([blockFn(), adamwFn(), copyFn(), fillFn()], { shared, minPages: 1, maxPages: 65536 });
  if (!wasmApi.validate(bytes)) return null;
  let exports: Omit<HeapKernels, 'transpose'> & { block: (...a: number[]) => void };
  try {
    exports = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as typeof exports;
  } catch {
    return null; // the memory's limits do not fit the import
  }
  const { block, adamw, copy, fill } = exports;
  return {
    adamw, copy, fill,
    transpose(src, dst, rows, cols) {
      const r4 = rows & ~3;
      const c4 = cols & ~3;
      for (let i0 = 0; i0 < r4; i0 += TILE_ROWS) {
        for (let j0 = 0; j0 < c4; j0 += TILE_COLS) block(src, dst, rows, cols, i0, Math.min(r4, i0 + TILE_ROWS), j0, Math.min(c4, j0 + TILE_COLS));
      }
      if (r4 === rows && c4 === cols) return;
      // The last rows and columns that do not fill a 4×4 block, element by element.
      const heap = new Int32Array(memory.buffer);
      const s = src >> 2;
      const d = dst >> 2;
      for (let i = 0; i < rows; i++) {
        for (let j = i < r4 ? c4 : 0; j < cols; j++) heap[d + j * rows + i] = heap[s + i * cols + j];
      }
    },
  };
}

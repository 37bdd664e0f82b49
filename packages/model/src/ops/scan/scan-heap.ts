/**
 * The cross scan run where the tfjs wasm backend keeps its tensors. In its multi-threaded build
 * that heap is a shared WebAssembly memory, so the scan kernels and the pool's workers can bind to
 * it as they bind to the scan arena (scan-pool-memory.ts): inputs are read in place, outputs are
 * tensors the kernels write into, and scratch is malloc'd from the heap and freed after the task.
 * Against the arena this saves every copy in and out — two per input (dataSync, then into the
 * arena) and two per output — about 0.2 s of a 256² training step.
 *
 * Only for shared memory: the one-thread build's heap is an ordinary memory, whose growth (any
 * malloc) detaches the views a task is made of. There, and on other backends, the arena is used.
 *
 * @example
 * const heap = scanHeap(); // null unless the multi-threaded wasm backend is active
 * if (heap) {
 *   const u = heap.view(uTensor);          // a tensor's data, in place
 *   const y = heap.output([1, 8, 8, 16]);  // a new zeroed tensor and its data
 *   const scratch = heap.scratch();        // an Allocator for the task's other arrays
 *   // … forwardTask(inputs, shape, scratch, { y: y.view, ckpt }); runScanTask(task, threads, { memory: heap.memory, alloc: scratch }) …
 *   scratch.free();
 * }
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Allocator } from './cross-selective-scan-kernels.ts';
import type { WasmMemory } from './cross-selective-scan-wasm.ts';
import { heapKernels, heapOffset, type HeapKernels, type WasmHeapBackend } from '../heap-kernels.ts';

interface HeapBackend extends WasmHeapBackend {
  wasm: { wasmMemory?: WasmMemory; _malloc(bytes: number): number; _free(ptr: number): void };
}

const ALIGN = 16;

/** Zeroed, 16-byte-aligned arrays malloc'd from the heap, with the kernels' 16 bytes of slack; `free` returns them all. */
export class HeapScratch implements Allocator {
  private readonly blocks: number[] = [];

  constructor(private readonly heap: ScanHeap) {}

  /** A view of `bytes` new bytes (the memory's buffer is read after the malloc, which may have grown it). */
  private take<T>(bytes: number, view: new (buffer: ArrayBufferLike, offset: number, length: number) => T, length: number): T {
    const p = this.heap.backend.wasm._malloc(bytes + 2 * ALIGN) >>> 0; // malloc's i32 is an address up to 4 GiB
    if (!p) throw new RangeError(`scan heap: cannot allocate ${bytes} bytes in the wasm backend's memory`);
    this.blocks.push(p);
    return new view(this.heap.memory.buffer, Math.ceil(p / ALIGN) * ALIGN, length);
  }

  f32(length: number): Float32Array {
    return this.heap.zero(this.take(4 * length, Float32Array, length));
  }

  f64(length: number): Float64Array {
    return this.heap.zero(this.take(8 * length, Float64Array, length));
  }

  i32(length: number): Int32Array {
    return this.heap.zero(this.take(4 * length, Int32Array, length));
  }

  copy(a: Float32Array): Float32Array {
    const c = this.take(4 * a.length, Float32Array, a.length);
    c.set(a);
    return c;
  }

  free(): void {
    for (const p of this.blocks.splice(0)) this.heap.backend.wasm._free(p);
  }
}

export class ScanHeap {
  constructor(readonly backend: HeapBackend, readonly memory: WasmMemory, private readonly kernels: HeapKernels) {}

  /** `a`, zeroed by a memset (TypedArray fill is slow on shared memory). */
  zero<T extends Float32Array | Float64Array | Int32Array>(a: T): T {
    this.kernels.fill(a.byteOffset, 0, a.byteLength);
    return a;
  }

  scratch(): HeapScratch {
    return new HeapScratch(this);
  }

  /** The float32 data of tensor `t` (on this backend), in place. */
  view(t: tf.Tensor): Float32Array {
    return new Float32Array(this.memory.buffer, heapOffset(this.backend, t), t.size);
  }

  /** A new zeroed float32 tensor and its data in place. */
  output(shape: number[]): { tensor: tf.Tensor; view: Float32Array } {
    const info = this.backend.makeOutput(shape, 'float32');
    const tensor = tf.engine().makeTensorFromTensorInfo(info);
    return { tensor, view: this.zero(this.view(tensor)) };
  }
}

let cache: ScanHeap | null = null;

/** The active backend's heap when it is the multi-threaded wasm build's shared memory, else null. */
export function scanHeap(): ScanHeap | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as HeapBackend;
  const memory = backend.wasm?.wasmMemory;
  if (!memory || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  const kernels = heapKernels();
  if (!kernels) return null;
  if (cache?.backend !== backend || cache.memory !== memory) cache = new ScanHeap(backend, memory, kernels);
  return cache;
}

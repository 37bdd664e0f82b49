/**
 * tfjs-backend-wasm kernels replaced where a 256² training step's profile showed them costing
 * far more than their work (bench/model-profile.ts):
 * - Identity copied its input, and the engine runs it for every tensor a gradient keeps (~3,300
 *   per step, ~120 ms). Here it shares the data, as tfjs's cpu backend does: tensors are
 *   immutable and the wasm backend counts references to a buffer (its Reshape shares the same way).
 * - Transpose read a column at a time, a cache miss per element (~3–7 ns). Once size-1 axes are
 *   dropped and axes that stay together merged, most transposes in the model are a matrix
 *   transpose or a batch of them: those run on heap-kernels.ts's SIMD blocks, the rest on tfjs's.
 * - Slice copied its whole input out of the heap (readSync) before taking the part it wanted, and
 *   SplitV slices once per output: a split of a [4096,144] matrix read it three times. Concat
 *   moved rows with TypedArray.set, slow on the multi-threaded build's shared heap. Here a slice,
 *   each part of a split or concat and a constant pad are memmoves of contiguous runs in the heap
 *   (heap-copy.ts, heap-kernels.ts).
 * - Reverse computed an index per element (7 ms for a [3,3,128,128] filter, flipped for every
 *   convolution's input gradient). When the reversed axes lead, as a filter's spatial axes do,
 *   the output is the input's blocks in reverse order: one memmove per block.
 * `installWasmKernels()` runs when the wasm backend starts (backend.ts).
 *
 * @example
 * await tf.setBackend('wasm');
 * installWasmKernels();
 * tf.clone(x);     // shares x's buffer
 * tf.transpose(m); // SIMD blocks
 */
import * as tf from '@tensorflow/tfjs-core';
import { copyBox, type Move } from './heap-copy.ts';
import { heapKernels, heapOffset, type HeapKernels, type WasmHeapBackend } from './heap-kernels.ts';

interface KernelArgs {
  inputs: { x: tf.TensorInfo };
  backend: WasmHeapBackend & { wasm: { HEAPU8: Uint8Array } };
  attrs?: {
    perm?: number[]; dims?: number | number[]; begin?: number | number[]; size?: number | number[];
    numOrSizeSplits?: number | number[]; axis?: number; paddings?: [number, number][]; constantValue?: number;
  };
}

type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** float32 and int32: the dtypes the heap moves below handle (4-byte elements). */
const fourBytes = (t: tf.TensorInfo) => t.dtype === 'float32' || t.dtype === 'int32';

/** Moves of 4-byte elements in the heap (element indices), by the kernels' memmove. */
const move4 = (k: HeapKernels): Move => (dst, src, n) => k.copy(4 * dst, 4 * src, 4 * n);

/** x[begin : begin + size] as a new tensor, moved within the heap. */
function sliceInHeap(k: HeapKernels, backend: KernelArgs['backend'], x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  copyBox(move4(k), { at: heapOffset(backend, x) / 4, shape: x.shape, begin },
    { at: heapOffset(backend, out) / 4, shape: size, begin: size.map(() => 0) }, size);
  return out;
}

let installed = false;

/** Replaces the wasm backend's Identity, Transpose, Slice, SplitV, Concat, PadV2 and Reverse (idempotent; the backend must be registered). */
export function installWasmKernels(): void {
  if (installed) return;
  replace('Identity', (copy) => (args) => {
    const { x } = args.inputs;
    if (x.dtype === 'string' || x.dtype === 'complex64') return copy(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  replace('Transpose', (loop) => (args) => {
    const { x } = args.inputs;
    const perm = args.attrs?.perm ?? [];
    const k = heapKernels();
    if (!k || (x.dtype !== 'float32' && x.dtype !== 'int32')) return loop(args);
    const { shape, perm: p } = mergedTranspose(x.shape, perm);
    const batched = p.length === 3 && p[0] === 0 && p[1] === 2 && p[2] === 1;
    if (!(p.length === 2 && p[0] === 1) && !batched) return loop(args);
    const [b, rows, cols] = batched ? shape : [1, ...shape];
    const out = args.backend.makeOutput(perm.map((a) => x.shape[a]), x.dtype);
    const src = heapOffset(args.backend, x);
    const dst = heapOffset(args.backend, out);
    for (let i = 0; i < b; i++) k.transpose(src + 4 * i * rows * cols, dst + 4 * i * rows * cols, rows, cols);
    return out;
  });
  replace('Slice', (original) => (args) => {
    const { x } = args.inputs;
    const k = heapKernels();
    if (!k || !fourBytes(x)) return original(args);
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs!.begin!, args.attrs!.size);
    return sliceInHeap(k, args.backend, x, begin, size);
  });
  replace('SplitV', (original) => (args) => {
    const { x } = args.inputs;
    const k = heapKernels();
    if (!k || !fourBytes(x)) return original(args);
    const axis = tf.util.parseAxisParam(args.attrs!.axis!, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, args.attrs!.numOrSizeSplits!, axis);
    let at = 0;
    return sizes.map((n) => {
      const begin = x.shape.map((_, d) => (d === axis ? at : 0));
      at += n;
      return sliceInHeap(k, args.backend, x, begin, x.shape.map((v, d) => (d === axis ? n : v)));
    });
  });
  replace('Concat', (original) => (args) => {
    const xs = (args.inputs as unknown as tf.TensorInfo[]).filter((t) => t.shape.every((v) => v > 0));
    const k = heapKernels();
    if (!k || xs.length < 2 || !xs.every(fourBytes)) return original(args);
    const axis = tf.util.parseAxisParam(args.attrs!.axis!, xs[0].shape)[0];
    const shape = tf.backend_util.computeOutShape(xs.map((t) => t.shape), axis);
    const out = args.backend.makeOutput(shape, xs[0].dtype);
    const dst = heapOffset(args.backend, out) / 4;
    let at = 0;
    for (const x of xs) {
      copyBox(move4(k), { at: heapOffset(args.backend, x) / 4, shape: x.shape, begin: x.shape.map(() => 0) },
        { at: dst, shape, begin: shape.map((_, d) => (d === axis ? at : 0)) }, x.shape);
      at += x.shape[axis];
    }
    return out;
  });
  replace('PadV2', (original) => (args) => {
    const { x } = args.inputs;
    const { paddings, constantValue = 0 } = args.attrs!;
    const k = heapKernels();
    if (!k || !fourBytes(x) || tf.util.sizeFromShape(x.shape) === 0) return original(args);
    const shape = x.shape.map((v, d) => paddings![d][0] + v + paddings![d][1]);
    const out = args.backend.makeOutput(shape, x.dtype);
    const at = heapOffset(args.backend, out);
    const n = tf.util.sizeFromShape(shape);
    if (constantValue === 0) k.fill(at, 0, 4 * n);
    else (x.dtype === 'float32' ? new Float32Array(args.backend.wasm.HEAPU8.buffer) : new Int32Array(args.backend.wasm.HEAPU8.buffer)).fill(constantValue, at / 4, at / 4 + n);
    copyBox(move4(k), { at: heapOffset(args.backend, x) / 4, shape: x.shape, begin: x.shape.map(() => 0) },
      { at: at / 4, shape, begin: paddings!.map((p) => p[0]) }, x.shape);
    return out;
  });
  replace('Reverse', (original) => (args) => {
    const { x } = args.inputs;
    const dims = new Set(tf.util.parseAxisParam(args.attrs?.dims ?? [], x.shape));
    const lead = dims.size;
    const k = heapKernels();
    if (!k || x.dtype === 'string' || x.dtype === 'complex64' || ![...dims].every((d) => d < lead)) return original(args);
    const blocks = x.shape.slice(0, lead).reduce((n, d) => n * d, 1);
    const bytes = (tf.util.sizeFromShape(x.shape) / Math.max(1, blocks)) * tf.util.bytesPerElement(x.dtype);
    const out = args.backend.makeOutput([...x.shape], x.dtype);
    const src = heapOffset(args.backend, x);
    const dst = heapOffset(args.backend, out);
    for (let i = 0; i < blocks; i++) k.copy(dst + (blocks - 1 - i) * bytes, src + i * bytes, bytes);
    return out;
  });
  installed = true;
}

function replace(name: string, make: (original: Kernel) => Kernel): void {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`installWasmKernels: the wasm backend has no ${name} kernel (is it registered?)`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: make(config.kernelFunc as unknown as Kernel) as unknown as tf.KernelFunc });
}

/**
 * The same permutation on the fewest axes: size-1 axes dropped, and axes adjacent and in order in
 * both input and output merged into one.
 */
function mergedTranspose(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = shape.map((d, a) => (d === 1 ? -1 : a)).filter((a) => a >= 0);
  const rank = new Map(kept.map((a, i) => [a, i]));
  const p = perm.filter((a) => shape[a] !== 1).map((a) => rank.get(a)!);
  const groups: number[][] = [];
  for (const a of p) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] + 1 === a) g.push(a);
    else groups.push([a]);
  }
  const inInputOrder = [...groups].sort((g, h) => g[0] - h[0]);
  return {
    shape: inInputOrder.map((g) => g.reduce((n, a) => n * shape[kept[a]], 1)),
    perm: groups.map((g) => inInputOrder.indexOf(g)),
  };
}

/**
 * tfjs-backend-wasm kernels replaced where a 256² training step's profile showed them costing
 * far more than their work (bench/model-profile.ts):
 * - Identity copied its input, and the engine runs it for every tensor a gradient keeps (~3,300
 *   per step, ~120 ms). Here it shares the data, as tfjs's cpu backend does: tensors are
 *   immutable and the wasm backend counts references to a buffer (its Reshape shares the same way).
 * - Transpose read a column at a time, a cache miss per element (~3–7 ns). Once size-1 axes are
 *   dropped and axes that stay together merged, most transposes in the model are a matrix
 *   transpose or a batch of them: those run on heap-kernels.ts's SIMD blocks, the rest on tfjs's.
 * `installWasmKernels()` runs when the wasm backend starts (backend.ts).
 *
 * @example
 * await tf.setBackend('wasm');
 * installWasmKernels();
 * tf.clone(x);     // shares x's buffer
 * tf.transpose(m); // SIMD blocks
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heap-kernels.ts';

interface KernelArgs {
  inputs: { x: tf.TensorInfo };
  backend: WasmHeapBackend;
  attrs?: { perm?: number[] };
}

type Kernel = (args: KernelArgs) => tf.TensorInfo;

let installed = false;

/** Replaces the wasm backend's Identity and Transpose (idempotent; the backend must be registered). */
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

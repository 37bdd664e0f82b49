/**
 * One AdamW update of a parameter as a single kernel on the wasm backend. Op by op (adamw.ts) an
 * update is ~12 kernels, each a pass over memory plus the engine's bookkeeping. Here it is one
 * WebAssembly SIMD pass in the backend's heap (ops/heap-kernels.ts). Every operation is float32
 * in the op-by-op order, so the results are bit for bit the ops'; a test holds it to that.
 *
 * @example
 * const fused = adamwUpdate(p, g, m, v, { beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 1, stepSize: 1e-3, bc2Sqrt: 0.03 });
 * if (fused) { const [p2, m2, v2] = fused; ... } // null: no kernel on this backend, use the ops
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset, type WasmHeapBackend } from '../ops/heap-kernels.ts';

const KERNEL = 'PmambaAdamW';

export interface AdamWScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·weightDecay (1: no decay). */
  decay: number;
  /** lr / (1 − β1ᵗ). */
  stepSize: number;
  /** √(1 − β2ᵗ). */
  bc2Sqrt: number;
}

type Inputs = { p: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };

function adamwWasm({ inputs, backend, attrs }: { inputs: Inputs; backend: WasmHeapBackend; attrs: AdamWScalars }): tf.TensorInfo[] {
  const { p, g, m, v } = inputs;
  const outs = [p, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const n = tf.util.sizeFromShape(p.shape);
  heapKernels()!.adamw(at(p), at(g), at(m), at(v), at(outs[0]), at(outs[1]), at(outs[2]), n,
    1 - attrs.beta1, attrs.beta2, 1 - attrs.beta2, attrs.bc2Sqrt, attrs.eps, attrs.decay, attrs.stepSize);
  return outs;
}

let registered = false;

/**
 * The updated parameter and moments [p, m, v] from the fused kernel, or null when the active
 * backend has none (only wasm has). p, g, m, v: float32 tensors of one shape.
 */
export function adamwUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!heapKernels() || [p, g, m, v].some((t) => t.dtype !== 'float32')) return null;
  if (!registered) {
    tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: adamwWasm as unknown as tf.KernelFunc });
    registered = true;
  }
  const out = tf.engine().runKernel(KERNEL, { p, g, m, v }, s as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out[0], out[1], out[2]];
}

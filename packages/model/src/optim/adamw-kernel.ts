/**
 * One AdamW update of a parameter as a single kernel on the wasm backend. Op by op (adamw.ts) an
 * update is ~12 kernels, each a pass over memory plus the engine's bookkeeping: the reference
 * model's 338 parameters took ~0.25 s of a 5.6 s training step at 256². Here it is one loop over
 * the backend's heap. Each operation is rounded to float32 in the op-by-op order, so the results
 * are bit for bit those of the ops (float32 +, −, ×, ÷ and √ are exact roundings of the double
 * results); a test holds it to that.
 *
 * @example
 * const fused = adamwUpdate(p, g, m, v, { beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 1, stepSize: 1e-3, bc2Sqrt: 0.03 });
 * if (fused) { const [p2, m2, v2] = fused; ... } // null: no kernel on this backend, use the ops
 */
import * as tf from '@tensorflow/tfjs-core';

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

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

type Inputs = { p: tf.TensorInfo; g: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo };

function adamwWasm({ inputs, backend, attrs }: { inputs: Inputs; backend: HeapBackend; attrs: AdamWScalars }): tf.TensorInfo[] {
  const { p, g, m, v } = inputs;
  const outs = [p, m, v].map((t) => backend.makeOutput(t.shape, 'float32'));
  // Views after every allocation: one may have grown the heap.
  const [P, G, M, V, P2, M2, V2] = [p, g, m, v, ...outs].map((t) => backend.typedArrayFromHeap(t));
  const f = Math.fround;
  const c1 = f(1 - attrs.beta1);
  const b2 = f(attrs.beta2);
  const c2 = f(1 - attrs.beta2);
  const bc = f(attrs.bc2Sqrt);
  const eps = f(attrs.eps);
  const decay = f(attrs.decay);
  const step = f(attrs.stepSize);
  for (let i = 0; i < P.length; i++) {
    const gi = G[i];
    const mi = f(M[i] + f(f(gi - M[i]) * c1));
    const vi = f(f(V[i] * b2) + f(f(gi * gi) * c2));
    const denom = f(f(f(Math.sqrt(vi)) / bc) + eps);
    const pi = attrs.decay === 1 ? P[i] : f(P[i] * decay);
    P2[i] = f(pi - f(f(mi / denom) * step));
    M2[i] = mi;
    V2[i] = vi;
  }
  return outs;
}

let registered = false;

/**
 * The updated parameter and moments [p, m, v] from the fused kernel, or null when the active
 * backend has none (only wasm has). p, g, m, v: float32 tensors of one shape.
 */
export function adamwUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (tf.getBackend() !== 'wasm') return null;
  if (!registered) {
    tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: adamwWasm as unknown as tf.KernelFunc });
    registered = true;
  }
  if ([p, g, m, v].some((t) => t.dtype !== 'float32')) return null;
  const out = tf.engine().runKernel(KERNEL, { p, g, m, v }, s as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return [out[0], out[1], out[2]];
}

/**
 * A tfjs-backend-wasm kernel replaced where a 256² training step's profile showed it costing far
 * more than its work (bench/model-profile.ts): Identity copied its input, and the engine runs it
 * for every tensor a gradient keeps (~3,300 per step, ~120 ms). Here it shares the data, as
 * tfjs's cpu backend does: tensors are immutable and the wasm backend counts references to a
 * buffer (its Reshape shares the same way). `installWasmKernels()` runs when the wasm backend
 * starts (backend.ts).
 *
 * (A tiled JS Transpose was tried too: no faster than tfjs's C++ loop, ~3 ns per element.)
 *
 * @example
 * await tf.setBackend('wasm');
 * installWasmKernels();
 * tf.clone(x); // shares x's buffer
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendInternals {
  incRef(dataId: tf.DataId): void;
}

interface KernelArgs {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackendInternals;
}

let installed = false;

/** Replaces the wasm backend's Identity (idempotent; the backend must be registered). */
export function installWasmKernels(): void {
  if (installed) return;
  const identity = tf.getKernel('Identity', 'wasm');
  if (!identity) throw new Error('installWasmKernels: the wasm backend is not registered');
  const copy = identity.kernelFunc as unknown as (args: KernelArgs) => tf.TensorInfo;
  const share = (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs;
    if (x.dtype === 'string' || x.dtype === 'complex64') return copy(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel(identity.kernelName, identity.backendName);
  tf.registerKernel({ ...identity, kernelFunc: share as unknown as tf.KernelFunc });
  installed = true;
}

/**
 * Which implementation of the cross selective scan runs: the config's `model.scan` (`auto`,
 * `kernels`, `ops`) resolved against the active tfjs backend.
 *
 * `kernels` read their inputs to host memory (dataSync) and run WebAssembly/JS on the scan pool;
 * on the wasm and cpu backends tensors already live there, so that is free and the kernels are
 * the fast path. On any other backend (tensorflow, tensorflow-gpu) the read would copy every
 * SS2D layer's inputs off the device and back, so `auto` picks the `ops` scan, which stays there.
 *
 * The mode reaches `crossSelectiveScan` either per call (its `opts.scan`) or for everything a
 * function runs synchronously (`withScanMode`, e.g. a model's forward pass with its config's
 * mode). Gradients follow the forward pass's choice: it is made once, when the op is recorded.
 *
 * @example
 * const y = withScanMode(model.config.scan, () => model.forward(images));
 * resolveScanMode('auto', 'tensorflow'); // 'ops'
 */
import * as tf from '@tensorflow/tfjs-core';
import { SCAN_MODES, type ScanMode } from '../../config.ts';
import { ModelConfigError } from '../../errors.ts';

export { SCAN_MODES, type ScanMode };

/** tfjs backends whose tensors live in host memory, where the kernels read them for free. */
const HOST_BACKENDS: ReadonlySet<string> = new Set(['wasm', 'cpu']);

let scoped: ScanMode = 'auto';

/** Refuses what is not a scan mode (plain JS callers, configs that skipped the schema). */
function checkScanMode(mode: ScanMode): void {
  if (!SCAN_MODES.includes(mode)) {
    throw new ModelConfigError(`scan: ${JSON.stringify(mode)} is not a scan mode (use ${SCAN_MODES.join(', ')})`);
  }
}

/** The implementation `mode` stands for on tfjs backend `backend` (default: the active one). */
export function resolveScanMode(mode: ScanMode, backend: string = tf.getBackend()): 'kernels' | 'ops' {
  checkScanMode(mode);
  if (mode !== 'auto') return mode;
  return HOST_BACKENDS.has(backend) ? 'kernels' : 'ops';
}

/** The mode in force where no call passes its own: the innermost `withScanMode`, else `auto`. */
export function currentScanMode(): ScanMode {
  return scoped;
}

/** Runs `fn` with `mode` as the default scan mode, restoring the previous one after (also on throw). */
export function withScanMode<T>(mode: ScanMode, fn: () => T): T {
  checkScanMode(mode); // refuse a bad mode before running anything
  const previous = scoped;
  scoped = mode;
  try {
    return fn();
  } finally {
    scoped = previous;
  }
}

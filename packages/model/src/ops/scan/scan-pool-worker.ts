/**
 * A scan-pool worker: runs the part (channel units) it is sent of a cross-scan task on the
 * task memory it shares with the pool (the scan arena or the wasm backend's heap; it has
 * WebAssembly kernels bound to each), then counts itself off in the control block (the pool's
 * caller is blocked in Atomics.wait and cannot receive messages; a failure is posted to the
 * `errors` port, which it reads synchronously once woken).
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { runCrossScanPart, type CrossTask, type PartPlan } from './cross-selective-scan-kernels.ts';
import { scanWasm, type WasmMemory } from './cross-selective-scan-wasm.ts';
import { SLOT } from './scan-pool-protocol.ts';

/** One part of a run. */
export interface PartMessage {
  readonly task: CrossTask;
  readonly part: PartPlan;
  /** The task lives in the wasm backend's heap (workerData.heap), not the scan arena. */
  readonly onHeap: boolean;
}

const { control: ctrl, errors, memory, heap } = workerData as {
  control: Int32Array; errors: MessagePort; memory: WasmMemory; heap: WasmMemory | null;
};
const kernels = scanWasm(memory);
const heapKernels = heap && scanWasm(heap);

parentPort!.on('message', (m: PartMessage) => {
  try {
    runCrossScanPart(m.task, m.part, m.onHeap ? heapKernels : kernels);
  } catch (err) {
    errors.postMessage(err instanceof Error ? (err.stack ?? err.message) : String(err));
    Atomics.store(ctrl, SLOT.failed, 1);
  } finally {
    if (Atomics.sub(ctrl, SLOT.pending, 1) === 1) Atomics.notify(ctrl, SLOT.pending);
  }
});

Atomics.add(ctrl, SLOT.started, 1);
Atomics.notify(ctrl, SLOT.started);

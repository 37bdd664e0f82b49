/**
 * The control block the scan pool (scan-pool.ts) shares with its workers (scan-pool-worker.ts):
 * int32 counters the threads update with Atomics. The pool's caller blocks in Atomics.wait on
 * them; error details travel separately, as messages it reads with receiveMessageOnPort.
 */

/** Int32 slots of the control block. */
export const SLOT = {
  /** Workers that finished starting (loaded or failed); the pool waits until all have. */
  started: 0,
  /** Set to 1 by a worker that could not load its modules. */
  startFailed: 1,
  /** Parts of the current run not yet finished by workers; each worker decrements it once. */
  pending: 2,
  /** Set to 1 by a worker whose part threw. */
  failed: 3,
} as const;

/** A fresh, zeroed control block. */
export function controlBlock(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * Object.keys(SLOT).length));
}

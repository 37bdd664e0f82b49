/**
 * How many threads one process computes on: the cross-scan pool and the wasm backend's XNNPACK
 * pool both use this many. One knob, because a process that runs several of them on a machine
 * shared with other workers must size them together (the CLI's local workers split the cores).
 *
 * @example
 * process.env.PMAMBA_THREADS = '2';
 * computeThreads(); // 2
 */
import { availableParallelism } from 'node:os';
import { BackendError } from '../errors.ts';

/** The environment variable; PMAMBA_SCAN_THREADS, its name before the wasm backend used it too, is still read. */
export const THREADS_ENV = 'PMAMBA_THREADS';
const OLD_THREADS_ENV = 'PMAMBA_SCAN_THREADS';

/** PMAMBA_THREADS (else PMAMBA_SCAN_THREADS), else os.availableParallelism(). */
export function computeThreads(): number {
  for (const name of [THREADS_ENV, OLD_THREADS_ENV]) {
    const raw = process.env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new BackendError(`the environment variable ${name} is ${JSON.stringify(raw)}; use a whole number ≥ 1 (1 = one thread)`);
    return n;
  }
  return availableParallelism();
}

/**
 * PMAMBA_THREADS for each of `processes` compute processes started together on this machine: the
 * setting when given (either name), else the cores split between them (at least 1 each).
 */
export function threadsPerProcess(processes: number): string {
  return process.env[THREADS_ENV] || process.env[OLD_THREADS_ENV] || String(Math.max(1, Math.floor(availableParallelism() / processes)));
}

/**
 * Runs cross-scan kernel tasks on several threads: the calling thread plus a small pool of
 * worker_threads sharing the task's memory (the shared WebAssembly memory of
 * scan-pool-memory.ts, or the multi-threaded wasm backend's heap: scan-heap.ts). A task is split
 * into contiguous ranges of channel units, one per thread; the caller runs the first range itself
 * and then blocks in Atomics.wait until the workers have finished theirs, so the tfjs op that
 * called it stays synchronous. Results are identical
 * whatever the thread count (see cross-selective-scan-kernels.ts).
 *
 * Workers start on first use, are unref'd (they never keep the process alive) and live until
 * `shutdownScanPool` or process exit. Small tasks run in-thread. If the workers cannot start,
 * scans run in-thread after one warning.
 *
 * @example
 * configureScanPool({ threads: 2 });            // or PMAMBA_THREADS=2
 * const arena = scanArena();
 * arena.reset();
 * const task = forwardTask(inputs, shape, arena); // inputs copied into the arena
 * runScanTask(task, scanThreads(crossWork(shape), crossUnits(shape.D)));
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { crossUnits, planParts, runCrossScanPart, type Allocator, type CrossTask, type PartPlan } from './cross-selective-scan-kernels.ts';
import { scanWasm, type ScanWasm, type WasmMemory } from './cross-selective-scan-wasm.ts';
import { scanArena } from './scan-pool-memory.ts';
import { controlBlock, SLOT } from './scan-pool-protocol.ts';
import type { PartMessage } from './scan-pool-worker.ts';
import { ScanPoolError } from '../../errors.ts';
import { computeThreads } from '../../threads/compute-threads.ts';

export interface ScanPoolOptions {
  /**
   * Threads a scan may use, the calling one included; 1 runs every scan in-thread, without
   * workers. Default: computeThreads() (PMAMBA_THREADS, else os.availableParallelism()).
   */
  readonly threads?: number;
  /**
   * Smallest task, in state updates (B·K·L·D·N), that is split across threads; smaller ones run
   * in-thread, where handing them off would cost more than it saves. Default 2^20 (a few ms of scan).
   */
  readonly minParallelWork?: number;
}

const DEFAULT_MIN_PARALLEL_WORK = 2 ** 20;
/** How long the first parallel scan waits for its workers to load before running in-thread. */
const START_TIMEOUT_MS = 60_000;

let settings: Required<ScanPoolOptions> | null = null;
let pool: Pool | null = null;
/** Set once workers failed to start: every later scan runs in-thread. */
let unavailable = false;

/** Sets the pool's options; a running pool of another size is shut down (its replacement starts on demand). */
export function configureScanPool(opts: ScanPoolOptions): void {
  const next = resolve(opts);
  if (pool && pool.size !== next.threads - 1) void shutdownScanPool();
  settings = next;
}

/** The options in force. */
export function scanPoolOptions(): Required<ScanPoolOptions> {
  settings ??= resolve({});
  return settings;
}

function resolve(opts: ScanPoolOptions): Required<ScanPoolOptions> {
  const threads = opts.threads ?? computeThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ScanPoolError(`scan pool: configureScanPool({ threads }) is ${JSON.stringify(opts.threads)}; use a whole number ≥ 1 (1 = no worker threads)`);
  }
  const minParallelWork = opts.minParallelWork ?? DEFAULT_MIN_PARALLEL_WORK;
  if (!(minParallelWork >= 0)) throw new ScanPoolError(`scan pool: minParallelWork must be ≥ 0, got ${minParallelWork}`);
  return { threads, minParallelWork };
}

/** Threads a task of `work` state updates over `units` channel units will run on (1 = in-thread). */
export function scanThreads(work: number, units: number): number {
  const { threads, minParallelWork } = scanPoolOptions();
  if (unavailable || threads <= 1 || units < 2 || work < minParallelWork) return 1;
  return Math.min(threads, units);
}

/**
 * Where a task's arrays live: the scan arena, or the wasm backend's heap (scan-heap.ts), with the
 * allocator its per-thread scratch comes from.
 */
export interface TaskMemory {
  readonly memory: WasmMemory;
  readonly alloc: Allocator;
}

const bound = new WeakMap<WasmMemory, ScanWasm | null>();

/** This thread's WebAssembly kernels on `memory`, default the scan arena's (null where unavailable). */
export function mainKernels(memory: WasmMemory = scanArena().memory): ScanWasm | null {
  if (!bound.has(memory)) bound.set(memory, scanWasm(memory));
  return bound.get(memory)!;
}

/**
 * Runs every unit of a task on `threads` threads (from scanThreads). The task is built in `where`,
 * default the scan arena. Returns when all are done; rethrows a worker's error.
 */
export function runScanTask(task: CrossTask, threads: number, where: TaskMemory = { memory: scanArena().memory, alloc: scanArena() }): void {
  const units = crossUnits(task.shape.D);
  const k = mainKernels(where.memory);
  const onHeap = where.memory !== scanArena().memory;
  const p = threads > 1 ? ensurePool(threads - 1, onHeap ? where.memory : null) : null;
  const n = p ? Math.min(threads, p.size + 1) : 1;
  const ranges = Array.from({ length: n }, (_, i) => [Math.floor(units * i / n), Math.floor(units * (i + 1) / n)] as const);
  const plans = planParts(task, ranges, where.alloc, k);
  if (p) p.run(task, plans, k, onHeap);
  else runCrossScanPart(task, plans[0], k);
}

/** Stops the workers (a later parallel scan starts new ones). */
export async function shutdownScanPool(): Promise<void> {
  const p = pool;
  pool = null;
  if (p) await p.close();
}

/** A pool of at least `workers` workers, bound to `heap` as well as the arena when it is given. */
function ensurePool(workers: number, heap: WasmMemory | null): Pool | null {
  if (unavailable) return null;
  if (pool && pool.size >= workers && (heap === null || pool.heap === heap)) return pool;
  // A pool bound to no heap or another one (the backend was restarted) makes way for one bound to
  // this heap; every pool is bound to the arena as well.
  if (pool) void shutdownScanPool();
  const size = Math.max(workers, scanPoolOptions().threads - 1);
  try {
    pool = new Pool(size, heap);
  } catch (err) {
    unavailable = true;
    process.emitWarning(`scan pool: ${size} worker thread(s) could not start, scans run in-thread (${(err as Error).message})`,
      { code: 'PMAMBA_SCAN_POOL' });
    return null;
  }
  return pool;
}

// Node 20 applies module loader hooks (tsx's included) to the main thread only, so when the
// TypeScript entry does not load as is, the worker loads it through tsx's API (which also
// compiles the modules it imports). Written to run as a script or as a module (--input-type).
const BOOTSTRAP = `
import('node:worker_threads').then(async ({ workerData }) => {
  const { entry, tsx, control, errors } = workerData;
  try {
    await import(entry).catch(async (err) => {
      if (!err || err.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !tsx) throw err;
      return (await import(tsx)).tsImport(entry, entry);
    });
  } catch (err) {
    errors.postMessage(String((err && err.stack) || err));
    Atomics.store(control, ${SLOT.startFailed}, 1);
    Atomics.add(control, ${SLOT.started}, 1);
    Atomics.notify(control, ${SLOT.started});
  }
});
`;

function tsxApi(): string | null {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return null;
  }
}

class Pool {
  private readonly workers: Worker[] = [];
  private readonly errors: MessagePort[] = [];
  private readonly ctrl = controlBlock();

  /** Starts `size` workers and waits until they have loaded; throws if any cannot. */
  constructor(readonly size: number, readonly heap: WasmMemory | null) {
    const entry = new URL('./scan-pool-worker.ts', import.meta.url).href;
    const tsx = tsxApi();
    for (let i = 0; i < size; i++) {
      const { port1, port2 } = new MessageChannel();
      const w = new Worker(BOOTSTRAP, {
        eval: true, workerData: { entry, tsx, control: this.ctrl, errors: port2, memory: scanArena().memory, heap },
        transferList: [port2],
      });
      w.unref();
      // Errors inside a part are caught by the worker and reported through the control block; this
      // only keeps an unexpected worker crash from also crashing the process.
      w.on('error', () => {});
      this.workers.push(w);
      this.errors.push(port1);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (let n; (n = Atomics.load(this.ctrl, SLOT.started)) < size;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(this.ctrl, SLOT.started, n, left);
    }
    const why = Atomics.load(this.ctrl, SLOT.startFailed) ? this.drainErrors()
      : Atomics.load(this.ctrl, SLOT.started) < size ? `not ready after ${START_TIMEOUT_MS / 1000} s` : null;
    if (why !== null) {
      void this.close();
      throw new ScanPoolError(why);
    }
  }

  /** Runs plans[0] here with `kernels` and plans[i] on worker i−1, in the heap's memory if `onHeap`, else the arena's. */
  run(task: CrossTask, plans: readonly PartPlan[], kernels: ScanWasm | null, onHeap: boolean): void {
    assertShared(task);
    Atomics.store(this.ctrl, SLOT.failed, 0);
    Atomics.store(this.ctrl, SLOT.pending, plans.length - 1);
    for (let i = 1; i < plans.length; i++) {
      const msg: PartMessage = { task, part: plans[i], onHeap };
      this.workers[i - 1].postMessage(msg);
    }
    let local: { err: unknown } | null = null;
    try {
      runCrossScanPart(task, plans[0], kernels);
    } catch (err) {
      local = { err };
    }
    // Wait even after an error: the workers are still writing into the task's memory. (A worker
    // killed mid-part, e.g. out of memory, would leave this waiting: parts catch their own errors.)
    for (let n; (n = Atomics.load(this.ctrl, SLOT.pending)) > 0;) Atomics.wait(this.ctrl, SLOT.pending, n);
    if (local) throw local.err;
    if (Atomics.load(this.ctrl, SLOT.failed)) throw new ScanPoolError(`scan pool: a worker failed: ${this.drainErrors()}`);
  }

  /** Every error message the workers posted since the last call. */
  private drainErrors(): string {
    const texts: string[] = [];
    for (const port of this.errors) {
      for (let m; (m = receiveMessageOnPort(port));) texts.push(String(m.message));
    }
    return texts.join('\n') || 'no details';
  }

  async close(): Promise<void> {
    for (const port of this.errors) port.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Throws unless every array of the task is shared memory (a copy would silently lose the workers' output). */
function assertShared(task: CrossTask): void {
  const arrays: ArrayBufferView[] = [...Object.values(task.inp), ...task.orders];
  if (task.kind === 'forward') arrays.push(task.y, task.ckpt);
  else arrays.push(...(task.ckpt ? [task.ckpt] : []), task.gy, task.g.u, task.g.delta, task.g.A, task.g.Ds, task.g.bias, ...task.g.Bm, ...task.g.Cm);
  if (arrays.some((a) => !(a.buffer instanceof SharedArrayBuffer))) {
    throw new ScanPoolError('scan pool: a task run on several threads needs every array in shared memory (build it in scanArena())');
  }
}

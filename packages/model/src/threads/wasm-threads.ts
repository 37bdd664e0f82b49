/**
 * Starts tfjs-backend-wasm's multi-threaded build (XNNPACK over Emscripten pthreads) under Node,
 * so convolutions and matMuls use every core instead of one. tfjs ships that build but turns it
 * off in Node (tfjs issue 3830); four things stand in the way, each handled here:
 * 1. the WASM_HAS_MULTITHREAD_SUPPORT flag answers false under Node: set it;
 * 2. tfjs hands Emscripten a blob: URL for the pthread worker script, which node's Worker cannot
 *    load: every Worker the glue makes evaluates the worker source shipped in `wasm-out/`;
 * 3. the workers are sent a Blob of tfjs's bundled factory, which only runs inside the bundle:
 *    they are sent the stand-alone glue file of the same build (same .wasm) instead;
 * 4. tfjs caps its pool at os.cpus().length / 2 (hyper-threads): the count is doubled while the
 *    module starts.
 * Emscripten ref()s a worker while it runs a pthread and XNNPACK's threads never end, so the
 * workers stay unref'd (the main thread always waits for pool work) and the process can exit.
 * Depends on tfjs-backend-wasm 4.22 internals: `wasm-out/`, the `load` message and `ref()`.
 * Measured on 2 cores (docs/results.md): matMul 1.85×, 3×3 conv 1.76× faster than one thread;
 * outputs bit-identical.
 *
 * @example
 * await import('@tensorflow/tfjs-backend-wasm');
 * await startThreadedWasm(2);    // instead of tf.setBackend('wasm')
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Worker as NodeWorker, type Transferable } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const START_TIMEOUT_MS = 30_000;

interface WasmBackendModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Emscripten's pthread workers that were made but never given a thread. */
interface PThreadRegistry {
  wasm?: { PThread?: { unusedWorkers?: { terminate(): unknown }[] } };
}

function glueFiles(): { glue: string; workerSource: string } {
  const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const { wasmWorkerContents } = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The shipped source is a template literal that turned a "\n" inside a string into a raw
  // newline; tfjs re-escapes it the same way before use.
  return { glue: join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'), workerSource: wasmWorkerContents.replace(/\n/g, '\\n') };
}

/**
 * Activates the wasm backend on `threads` threads (the calling one included) and returns the
 * count tfjs reports. Throws if the backend does not start; the caller then falls back to the
 * one-thread build.
 */
export async function startThreadedWasm(threads: number): Promise<number> {
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmBackendModule;
  const { glue, workerSource } = glueFiles();
  class PThreadWorker extends NodeWorker {
    constructor() {
      super(workerSource, { eval: true });
    }
    override postMessage(message: unknown, transfer?: readonly Transferable[]): void {
      const m = message as { cmd?: string } | null;
      super.postMessage(m?.cmd === 'load' ? { ...m, urlOrBlob: glue } : message, transfer);
    }
    override ref(): void {}
  }
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  const cpus = os.cpus;
  os.cpus = () => {
    const c = cpus();
    while (c.length < 2 * threads) c.push(c[0]);
    return c;
  };
  // The glue assigns globalThis.Worker = worker_threads.Worker as it starts: ignore that.
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PThreadWorker, set() {} });
  let timer: NodeJS.Timeout | undefined;
  try {
    // Emscripten waits for every worker to load before it starts: a worker that cannot would hang it.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`its workers did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    });
    if (!(await Promise.race([tf.setBackend('wasm'), timeout]))) throw new Error('tfjs could not initialise it (see its warning above)');
  } finally {
    clearTimeout(timer);
    os.cpus = cpus;
    delete (globalThis as { Worker?: unknown }).Worker;
  }
  // Emscripten prepares 8 workers whatever the count; XNNPACK made its pool at start and never
  // asks for more, so the idle ones only cost memory (about 50 MB).
  const unused = (tf.backend() as PThreadRegistry).wasm?.PThread?.unusedWorkers;
  for (const w of unused?.splice(0) ?? []) void w.terminate();
  return wasm.getThreadsCount();
}

/** Puts the flag back so a later tf.setBackend('wasm') starts the one-thread build. */
export function forgetThreadedWasm(): void {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
}

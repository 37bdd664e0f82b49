import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, type BackendChoice, type BackendName } from './backend-names.ts';
import { BackendError } from './errors.ts';
import { computeThreads } from './threads/compute-threads.ts';
import { forgetThreadedWasm, startThreadedWasm } from './threads/wasm-threads.ts';
import { installWasmKernels } from './ops/wasm-kernels.ts';


/** tfjs registers the libtensorflow bindings under this name (GPU or CPU build alike). */
const TFJS_NODE_BACKEND = 'tensorflow';

// Optional packages: not in package.json (their install scripts download libtensorflow);
// production GPU images install @tensorflow/tfjs-node-gpu next to pmamba.
const OPTIONAL_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/** What tfjs-node's backend object says about itself (NodeJSKernelBackend). */
interface NodeBackendInfo {
  readonly isGPUPackage?: boolean;
  readonly isUsingGpuDevice?: boolean;
}

/** Whether the active backend computes on a GPU (only the tensorflow backends can; they say so). */
export function usingGpu(): boolean {
  return (tf.backend() as NodeBackendInfo).isUsingGpuDevice === true;
}

/** Why a backend did not load, in one line: "not installed" for a missing optional package, else the error's first line. */
function whyNot(name: BackendName, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const spec = name === 'tensorflow-gpu' || name === 'tensorflow' ? OPTIONAL_PACKAGE[name] : undefined;
  // Only the package itself missing; a dependency it cannot find is worth its own message.
  if (spec && [`Cannot find package '${spec}'`, `Cannot find module '${spec}'`].some((m) => message.includes(m))) return `${spec} not installed`;
  return message.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? 'failed without a message';
}

/**
 * Note on a tensorflow-gpu backend that loaded without a GPU: libtensorflow then runs its CPU
 * kernels and only says so in its own log (null when there is a GPU).
 */
function gpuMissing(): string | null {
  const b = tf.backend() as NodeBackendInfo;
  if (b.isGPUPackage === false) return 'the tensorflow backend in use is @tensorflow/tfjs-node\'s (CPU build), not tfjs-node-gpu\'s';
  if (b.isUsingGpuDevice === false) return 'libtensorflow found no GPU and runs on the CPU (it needs CUDA 11.2 and cuDNN 8.1 on the library path; see docs/gpu.md)';
  return null;
}

/**
 * The wasm backend on computeThreads() threads: tfjs's multi-threaded build when more than one
 * (threads/wasm-threads.ts), its one-thread build when one or when the threaded one fails.
 * Returns what to say about it.
 */
async function loadWasm(): Promise<WasmDetail> {
  await import('@tensorflow/tfjs-backend-wasm');
  const threads = computeThreads();
  let warning: string | undefined;
  if (threads > 1) {
    try {
      const n = await startThreadedWasm(threads);
      return { threads: `${n} threads` };
    } catch (e) {
      // tfjs keeps the factory of a backend that failed to start: the next setBackend retries it.
      forgetThreadedWasm();
      warning = `the wasm backend's ${threads}-thread build did not start (${e instanceof Error ? e.message : String(e)}); it runs on one thread`;
    }
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
  return { threads: '1 thread', warning };
}

/** What the wasm backend says about itself once loaded. */
interface WasmDetail {
  threads: string;
  warning?: string;
}

async function load(name: BackendName): Promise<WasmDetail | void> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const spec = OPTIONAL_PACKAGE[name];
      await import(spec);
      if (!(await tf.setBackend(TFJS_NODE_BACKEND))) throw new Error(`${spec} loaded but its backend did not start`);
      return;
    }
    case 'wasm': {
      const detail = await loadWasm();
      installWasmKernels();
      return detail;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return;
  }
}

/**
 * Activates a compute backend and returns the one in use. `auto` tries them fastest first
 * and logs, through `log` (default stderr), which loaded and why each faster one did not. A
 * tensorflow-gpu backend that found no GPU is logged whatever the choice.
 */
export async function useBackend(choice: BackendChoice = 'auto', log: (msg: string) => void = (m) => console.error(m)): Promise<BackendName> {
  const candidates: readonly BackendName[] = choice === 'auto' ? BACKENDS : [choice];
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      const detail = await load(name);
      await tf.ready();
      if (choice === 'auto') log(`pmamba: using the ${name} backend${detail ? ` on ${detail.threads}` : ''}${failures.length ? ` (unavailable: ${failures.join('; ')})` : ''}`);
      if (detail?.warning) log(`pmamba: warning: ${detail.warning}`);
      const noGpu = name === 'tensorflow-gpu' ? gpuMissing() : null;
      if (noGpu) log(`pmamba: warning: tensorflow-gpu loaded, but ${noGpu}`);
      return name;
    } catch (e) {
      failures.push(`${name}: ${whyNot(name, e)}`);
    }
  }
  throw new BackendError(`backend ${choice} is not available: ${failures.join('; ')}. ` +
    `Install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node for the tensorflow backends.`);
}

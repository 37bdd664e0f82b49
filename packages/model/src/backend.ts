import * as tf from '@tensorflow/tfjs-core';
import { BACKENDS, type BackendChoice, type BackendName } from './backend-names.ts';
import { BackendError } from './errors.ts';


/** tfjs registers the libtensorflow bindings under this name (GPU or CPU build alike). */
const TFJS_NODE_BACKEND = 'tensorflow';

// Optional packages: not in package.json (their install scripts download libtensorflow);
// production GPU images install @tensorflow/tfjs-node-gpu next to pmamba.
const OPTIONAL_PACKAGE: Record<'tensorflow-gpu' | 'tensorflow', string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

async function load(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const spec = OPTIONAL_PACKAGE[name];
      await import(spec);
      if (!(await tf.setBackend(TFJS_NODE_BACKEND))) throw new Error(`${spec} loaded but its backend did not start`);
      return;
    }
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
      return;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return;
  }
}

/**
 * Activates a compute backend and returns the one in use. `auto` tries them fastest first
 * and logs which loaded (through `log`, default stderr).
 */
export async function useBackend(choice: BackendChoice = 'auto', log: (msg: string) => void = (m) => console.error(m)): Promise<BackendName> {
  const candidates: readonly BackendName[] = choice === 'auto' ? BACKENDS : [choice];
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      await load(name);
      await tf.ready();
      if (choice === 'auto') log(`pmamba: using the ${name} backend${failures.length ? ` (unavailable: ${failures.join('; ')})` : ''}`);
      return name;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new BackendError(`backend ${choice} is not available: ${failures.join('; ')}. ` +
    `Install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node for the tensorflow backends.`);
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

// TensorFlow.js (and on GPU hosts libtensorflow with CUDA) is for processes that run a model:
// worker processors, predict, benches. Planning, coordinating, the worker's parent process and
// the CLI's start must not load it. tfjs-core creates its engine at import, under globalThis._tfengine.
const TFJS_FREE = ['@pmamba/model/spec', '@pmamba/protocol', '@pmamba/store', '@pmamba/data', '@pmamba/metrics', '@pmamba/coordinator', '@pmamba/worker', './packages/cli/src/commands/index.ts'];

const loadsTfjs = async (specifiers: string[]): Promise<boolean> => {
  const script = `${specifiers.map((s) => `await import(${JSON.stringify(s)});`).join('\n')}
    process.stdout.write(String(globalThis._tfengine !== undefined));`;
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd });
  return stdout === 'true';
};

test('the coordinator, the worker parent, the CLI verbs and @pmamba/model/spec never load TensorFlow.js', async () => {
  assert.equal(await loadsTfjs(TFJS_FREE), false);
  // The probe itself sees tfjs where it is loaded.
  assert.equal(await loadsTfjs(['@pmamba/model']), true);
});

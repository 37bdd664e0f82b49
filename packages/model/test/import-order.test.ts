import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

// Module load order is per process: a fresh one that imports @pmamba/model before tfjs-core
// (as the CLI and any library user may) must still get working gradients and tensor methods.
test('importing @pmamba/model before tfjs-core leaves gradients and tensor methods working', async () => {
  const script = `
    const { useBackend } = await import('@pmamba/model');
    const tf = await import('@tensorflow/tfjs-core');
    await useBackend('cpu');
    const g = tf.grad((x) => tf.sum(tf.addN([x, tf.mul(x, 2), x])))(tf.tensor1d([1, 2]));
    process.stdout.write(JSON.stringify([...g.dataSync(), tf.tensor1d([3]).clone().dataSync()[0]]));
  `;
  const cwd = fileURLToPath(new URL('..', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd });
  assert.deepEqual(JSON.parse(stdout), [4, 4, 3]);
});

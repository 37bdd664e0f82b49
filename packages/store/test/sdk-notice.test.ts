import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

// The AWS SDK's nine-line Node-version notice, printed by every process that made a client,
// becomes one line per process tree.
test('opening S3 stores prints at most one line about the SDK and Node, never the SDK notice', async () => {
  const script = `
    const { openStore } = await import('@pmamba/store');
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' };
    for (const p of ['a', 'b', 'c']) await (await openStore('s3://bucket/' + p, { env })).close();
    await new Promise((r) => setTimeout(r, 100));
  `;
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  const cwd = fileURLToPath(new URL('../../..', import.meta.url));
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd, env });
  assert.doesNotMatch(stderr, /NodeVersionSupportWarning/);
  const expected = Number(process.versions.node.split('.')[0]) < 22 ? 1 : 0;
  assert.equal(stderr.split('\n').filter((l) => l.startsWith('pmamba: note: AWS SDK')).length, expected, stderr);
});

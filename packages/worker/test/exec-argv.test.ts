import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childExecArgv } from '../src/exec-argv.ts';

const LOADER = 'file:///x/node_modules/tsx/dist/loader.mjs';

describe('childExecArgv', () => {
  it("keeps tsx's loader as the tsx binary passes it", () => {
    const argv = ['--require', '/x/node_modules/tsx/dist/preflight.cjs', '--import', LOADER];
    assert.deepEqual(childExecArgv(argv, 'unused'), argv);
  });

  it('drops the test runner and inspector flags of the parent', () => {
    assert.deepEqual(childExecArgv(['--import', 'tsx', '--test', '--test-concurrency=1', '--inspect=9229', '--enable-source-maps'], LOADER), [
      '--import',
      'tsx',
      '--enable-source-maps',
    ]);
  });

  it('adds tsx when the parent runs without it', () => {
    assert.deepEqual(childExecArgv(['--max-old-space-size=4096'], LOADER), ['--max-old-space-size=4096', '--import', LOADER]);
    assert.deepEqual(childExecArgv([], LOADER), ['--import', LOADER]);
  });
});

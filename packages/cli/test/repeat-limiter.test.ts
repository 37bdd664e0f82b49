import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepeatLimiter } from '../src/repeat-limiter.ts';

test('a repeated kind of line prints once per window, then with the count of those held back', () => {
  const lines: string[] = [];
  let now = 0;
  const limiter = new RepeatLimiter((l) => lines.push(l), 30_000, () => now);
  for (let i = 0; i < 12; i++) {
    limiter.log('train-shard:ECONNREFUSED', 'train-shard: connect ECONNREFUSED 127.0.0.1:6379');
    limiter.log('evaluate:ECONNREFUSED', 'evaluate: connect ECONNREFUSED 127.0.0.1:6379');
    now += 1000;
  }
  assert.deepEqual(lines, ['train-shard: connect ECONNREFUSED 127.0.0.1:6379', 'evaluate: connect ECONNREFUSED 127.0.0.1:6379']);
  now = 31_000;
  limiter.log('train-shard:ECONNREFUSED', 'train-shard: connect ECONNREFUSED 127.0.0.1:6379');
  assert.equal(lines.at(-1), 'train-shard: connect ECONNREFUSED 127.0.0.1:6379 (and 11 more like it in the last 31 s)');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobLine } from '../src/processors/job-line.ts';

test("a processor's own lines follow the worker's log format", () => {
  const job = { name: 'train-shard', id: 'r1.r0.w0' };
  assert.equal(jobLine(undefined, job, 'resuming from step 20'), 'pmamba worker [train-shard r1.r0.w0] resuming from step 20\n');
  assert.equal(jobLine('pretty', job, 'x'), 'pmamba worker [train-shard r1.r0.w0] x\n');
  const line = JSON.parse(jobLine('json', job, 'resuming from step 20', new Date('2026-01-01T00:00:00Z')));
  assert.deepEqual({ ...line, pid: 0 }, { level: 30, time: '2026-01-01T00:00:00.000Z', pid: 0, name: 'pmamba-worker', event: 'job-log', queue: 'train-shard', job: 'r1.r0.w0', msg: 'resuming from step 20' });
});

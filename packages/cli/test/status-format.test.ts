// `pmamba status`'s verdict and text from what the store and Redis say (the end-to-end run is in
// test/observability.test.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runState, statusText } from '../src/status/format.ts';
import { RUN_JOB_STATES, type RunJobs, type StateCounts } from '../src/status/run-jobs.ts';
import type { RunProgressInfo } from '../src/status/run-progress.ts';

const progress = (o: Partial<RunProgressInfo> = {}): RunProgressInfo => ({
  runId: 'r1',
  createdAt: '2026-01-01T00:00:00.000Z',
  mode: 'per-class',
  classes: ['a', 'b'],
  rounds: 3,
  models: { a: { done: 3, loss: 0.25, finishedAt: null }, b: { done: 1, loss: 0.5, finishedAt: null } },
  finishedAt: null,
  evaluated: [0],
  metrics: null,
  ...o,
});
const counts = (o: Partial<StateCounts> = {}): StateCounts => ({ ...(Object.fromEntries(RUN_JOB_STATES.map((s) => [s, 0])) as StateCounts), ...o });
const jobs = (o: Partial<StateCounts> = {}, failed: RunJobs['failed'] = []): RunJobs => ({
  prefix: 'pmamba',
  total: counts(o),
  byQueue: { 'train-shard': counts(o) },
  failed,
  workers: { 'train-shard': 2, evaluate: null },
});

it('says finished, running, failed, stopped, or not finished without Redis', () => {
  assert.equal(runState(progress({ finishedAt: '2026-01-01T01:00:00.000Z' }), jobs({ failed: 1 })), 'finished');
  assert.equal(runState(progress(), jobs({ 'waiting-children': 1 })), 'running');
  assert.equal(runState(progress(), jobs({ delayed: 1, failed: 1 })), 'running');
  assert.equal(runState(progress(), jobs({ failed: 2, completed: 5 })), 'failed');
  assert.equal(runState(progress(), jobs({ completed: 5 })), 'stopped');
  assert.equal(runState(progress(), null), 'not finished');
});

it('prints per-model rounds, the jobs with their failures, and what is not known', () => {
  const text = statusText(progress(), jobs({ failed: 1 }, [{ queue: 'train-shard', id: 'r1.r1.m1-w0', reason: 'the loss became NaN' }]), undefined, ['mad']);
  assert.match(text, /^run r1: failed \(created 2026-01-01T00:00:00\.000Z\)$/m);
  assert.match(text, /^rounds: 1\/2 model\(s\) fully trained$/m);
  assert.match(text, /^ {2}b: 1\/3 done \(last round loss 0\.5000\)$/m);
  assert.match(text, /^ {2}workers: train-shard 2, evaluate \?$/m);
  assert.match(text, /^ {2}failed: train-shard job r1\.r1\.m1-w0: the loss became NaN$/m);
  assert.match(text, /^evaluated: untrained$/m);
  assert.match(text, /^latest metrics: none yet$/m);
  assert.match(statusText(progress(), null, 'not checked (no Redis URL)', ['mad']), /^jobs: not checked \(no Redis URL\)$/m);
});

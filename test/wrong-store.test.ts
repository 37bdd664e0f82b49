// A worker started with another --store than the run's coordinator cannot see the run: it
// must give the job back, without using up the job's attempts, instead of failing the run.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Queue } from 'bullmq';
import { startWorker } from '@pmamba/worker';
import { PAYLOADS } from '../packages/protocol/test/support/examples.ts';
import { testRedis } from './support/redis.ts';

const redis = testRedis('wrong-store');
after(() => redis.clear());

it('a worker whose store lacks the run record gives the evaluate job back, delayed, with its attempts untouched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-wrong-store-'));
  const queue = new Queue('evaluate', { connection: redis.connection, prefix: redis.prefix });
  const lines: string[] = [];
  const handle = await startWorker({
    connection: redis.connection,
    prefix: redis.prefix,
    storeUrl: `file://${dir}`,
    backend: 'wasm',
    queues: ['evaluate'],
    onEvent: (e) => lines.push(JSON.stringify(e)),
  });
  try {
    const job = await queue.add('evaluate', PAYLOADS.evaluate, { jobId: 'wrong-store-eval', attempts: 3 });
    const deadline = Date.now() + 60_000;
    let state = await job.getState();
    while (state !== 'delayed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      state = await job.getState();
    }
    assert.equal(state, 'delayed', `the job went back to the queue (state ${state}): ${lines.join('\n')}`);
    const again = (await queue.getJob('wrong-store-eval'))!;
    assert.equal(again.attemptsMade, 0, 'no attempt was used up');
    assert.equal(again.failedReason, undefined);
    const logs = (await queue.getJobLogs('wrong-store-eval')).logs.join('\n');
    assert.match(logs, new RegExp(`this worker's store file://${dir} holds no runs/quickstart/run\\.json: it is not the store of run quickstart; start the worker with the coordinator's --store; giving the job back`));
  } finally {
    await handle.shutdown();
    await queue.close();
    await rm(dir, { recursive: true, force: true });
  }
});

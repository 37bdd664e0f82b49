// `pmamba worker --gpus 0,1`: one BullMQ worker per GPU and queue, each forking processors that
// see only their GPU; without GPUs, one worker per queue running `concurrency` jobs.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startWorker } from '@pmamba/worker';
import { testRedis } from './support/redis.ts';

const redis = testRedis('slots');
after(() => redis.clear());

describe('worker slots', () => {
  it('pins one processor process per GPU with CUDA_VISIBLE_DEVICES', async () => {
    const handle = await startWorker({ connection: redis.connection, prefix: redis.prefix, storeUrl: 'file:///tmp/unused', gpus: ['0', '1'], concurrency: 8 });
    try {
      const slots = handle.workers.map((w) => [w.name, w.opts.concurrency, w.opts.workerForkOptions?.env?.CUDA_VISIBLE_DEVICES]);
      assert.deepEqual(slots, [
        ['teacher-pretrain', 1, '0'],
        ['train-shard', 1, '0'],
        ['fit-map', 1, '0'],
        ['evaluate', 1, '0'],
        ['teacher-pretrain', 1, '1'],
        ['train-shard', 1, '1'],
        ['fit-map', 1, '1'],
        ['evaluate', 1, '1'],
      ]);
      // Locks are long enough for a slow step, and a dead worker's job returns after at most lock + interval.
      assert.equal(handle.workers[0].opts.lockDuration, 60_000);
      assert.equal(handle.workers[0].opts.maxStalledCount, 2);
    } finally {
      await handle.shutdown();
    }
  });

  it('runs `concurrency` jobs per queue without GPUs, and rejects bad options', async () => {
    const handle = await startWorker({ connection: redis.connection, prefix: redis.prefix, storeUrl: 'file:///tmp/unused', concurrency: 3, queues: ['evaluate'] });
    try {
      assert.deepEqual(handle.workers.map((w) => [w.name, w.opts.concurrency]), [['evaluate', 3]]);
      assert.equal(handle.workers[0].opts.workerForkOptions?.env?.PMAMBA_STORE_URL, 'file:///tmp/unused');
    } finally {
      await handle.shutdown();
    }
    await assert.rejects(startWorker({ connection: redis.connection, prefix: redis.prefix, storeUrl: 's', gpus: ['a'] }), /--gpus takes device numbers/);
    await assert.rejects(startWorker({ connection: redis.connection, prefix: redis.prefix, storeUrl: 's', concurrency: 0 }), /--concurrency must be a positive integer/);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planRun } from '@pmamba/coordinator';
import { roundFlow } from '../packages/coordinator/src/flows.ts';
import { readSafetensors } from '@pmamba/model';
import { layout, type TrainShardPayload, type TrainShardResult } from '@pmamba/protocol';
import { openStore, type ArtifactStore } from '@pmamba/store';
import { WorkerRuntime } from '../packages/worker/src/runtime.ts';
import { trainShard } from '../packages/worker/src/train-shard.ts';
import { tinyConfig } from './support/tiny-run.ts';

// A crash can come between any two store writes of a train-shard job (SIGKILL, OOM, power).
// For every write the job makes, crash just before it, retry, and demand the very weights an
// uninterrupted job computes: nothing a crash leaves behind may change the result.

class Crash extends Error {}

/** The store, failing its `at`-th write (putBytes, putJson or delete; 1-based) and every one after. */
function crashingStore(store: ArtifactStore, at: number, counted: { writes: number }): ArtifactStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'putBytes' || prop === 'putJson' || prop === 'delete') {
        return (...args: unknown[]) => {
          counted.writes++;
          if (counted.writes >= at) throw new Crash(`crash before write ${at} (${String(prop)} ${String(args[0])})`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

class StoreRuntime extends WorkerRuntime {
  constructor(private readonly given: ArtifactStore) {
    super({ storeUrl: 'file:///unused', backend: 'wasm' }, () => undefined);
  }
  override store(): Promise<ArtifactStore> {
    return Promise.resolve(this.given);
  }
}

const quiet = { progress: async () => undefined, log: () => undefined };

test('a train-shard job crashed before any one of its store writes resumes to the uninterrupted weights', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pmamba-crash-'));
  try {
    const config = tinyConfig(join(dir, 'data'), `file://${dir}/unused`, {
      model: { teacher: { init: 'random' } },
      training: { rounds: 1, localSteps: 3, checkpointEverySteps: 1, workers: 1, batchSize: 2 },
    });
    const record = await planRun(config, { runId: 'crash' });
    // Each store holds the run record the job checks for (a worker on another store gives jobs back).
    const withRecord = async (url: string) => {
      const store = await openStore(url);
      const written = await store.putJson(layout.runRecordKey('crash'), record);
      return { store, run: { key: written.key, sha256: written.sha256, size: written.size } };
    };
    const { store: reference, run } = await withRecord(`file://${dir}/reference`);
    const payload = roundFlow(record, run, 0, 0, null).children![0].data as TrainShardPayload;
    const weightsOf = async (store: ArtifactStore, result: TrainShardResult) => readSafetensors(await store.getBytes(result.weights.key)).tensors;

    const counted = { writes: 0 };
    const straight = (await trainShard(payload, quiet, new StoreRuntime(crashingStore(reference, Infinity, counted)))) as TrainShardResult;
    const expected = await weightsOf(reference, straight);
    const writes = counted.writes;
    assert.ok(writes >= 12, `the job writes init, two checkpoints, its outputs and cleans up (${writes} writes)`);

    const resumedFrom = new Set<number>();
    for (let at = 1; at <= writes; at++) {
      const { store } = await withRecord(`file://${dir}/crash-${at}`);
      await assert.rejects(trainShard(payload, quiet, new StoreRuntime(crashingStore(store, at, { writes: 0 }))), Crash);
      const result = (await trainShard(payload, quiet, new StoreRuntime(store))) as TrainShardResult;
      resumedFrom.add(result.resumedFromStep);
      const got = await weightsOf(store, result);
      for (const [name, t] of expected) assert.deepEqual(got.get(name)!.data, t.data, `crash before write ${at}: ${name}`);
      assert.equal(result.samples, straight.samples);
      assert.equal(result.loss, straight.loss, `crash before write ${at}: the mean loss covers every step once`);
      // Only the job's outputs remain: no checkpoint file is left behind.
      const left = (await store.list('runs/crash/rounds/0/checkpoints/')).map((o) => o.key);
      assert.deepEqual(left, [], `crash before write ${at}: checkpoint files left: ${left.join(', ')}`);
    }
    // The crashes hit before the first checkpoint, after it and after the second.
    assert.deepEqual([...resumedFrom].sort(), [0, 1, 2]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

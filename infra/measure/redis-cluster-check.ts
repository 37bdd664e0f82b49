// Do pmamba's BullMQ keys work on a Redis Cluster? Plans a tiny run, adds its round-0 flow
// (aggregate ← train-shard × workers, built by the coordinator's roundFlow, with pmamba's job ids)
// through an ioredis Cluster connection under a hash-tagged prefix, completes the train-shard jobs
// with a BullMQ Worker and checks that the parent moved on; then tries the same flow under the
// plain prefix, which Redis Cluster must refuse (its keys hash to different slots). Deletes its keys.
//   npx tsx infra/measure/redis-cluster-check.ts --nodes 127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103 --data DIR
// DIR: any small synthetic set (`pmamba dataset synth --out DIR --classes 3 --size 64 --train 32 --test 40`).
// docs/deploy.md ("Redis Cluster") gives the result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowProducer, Queue, Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { planRun } from '@pmamba/coordinator';
import { QUEUE_NAMES, layout, parseRunConfig } from '@pmamba/protocol';
import { openStore } from '@pmamba/store';
import { roundFlow } from '../../packages/coordinator/src/flows.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const nodes = option('nodes', '127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103')!
  .split(',')
  .map((hp) => ({ host: hp.split(':')[0], port: Number(hp.split(':')[1]) }));
const data = option('data');
if (!data) throw new Error('--data DIR: a small synthetic dataset');

const storeDir = mkdtempSync(join(tmpdir(), 'pmamba-cluster-store-'));
const store = await openStore(`file://${storeDir}`);
const config = parseRunConfig(
  { version: 1, run: { id: 'cluster-check' }, dataset: { root: data, imageSize: 64 }, model: { preset: 'small' }, training: { rounds: 1, localSteps: 1, batchSize: 1, workers: 2 } },
  'cluster check config',
);
const record = await planRun(config, { store });
const run = { key: layout.runRecordKey(record.runId), sha256: 'a'.repeat(64), size: 1000 };
const cluster = () => new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: null } });

async function deleteKeys(prefix: string): Promise<number> {
  const c = cluster();
  await new Promise((ready) => c.once('ready', ready));
  let n = 0;
  for (const node of c.nodes('master')) {
    const keys = await node.keys(`${prefix}:*`);
    for (const key of keys) n += await c.del(key);
  }
  c.disconnect();
  return n;
}

async function tryPrefix(prefix: string): Promise<string> {
  const connection = cluster();
  const flows = new FlowProducer({ connection, prefix });
  const queues = [QUEUE_NAMES.trainShard, QUEUE_NAMES.aggregate].map((name) => new Queue(name, { connection, prefix }));
  let worker: Worker | undefined;
  try {
    await flows.add(roundFlow(record, run, 0, 0, null));
    const [train, aggregate] = queues;
    const before = await train.getJobCounts('wait', 'prioritized');
    let done = 0;
    worker = new Worker(QUEUE_NAMES.trainShard, async () => (done++, { ok: true }), { connection, prefix });
    const deadline = Date.now() + 20_000;
    while ((await aggregate.getJobCounts('wait')).wait === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const after = await aggregate.getJobCounts('wait', 'waiting-children');
    const slots = new Set(
      await Promise.all([`${prefix}:train-shard:wait`, `${prefix}:aggregate:wait`, `${prefix}:train-shard:${record.runId}.r0.w0`].map((k) => connection.cluster('KEYSLOT', k))),
    );
    return `prefix ${prefix}: flow added (train-shard waiting ${before.wait}, prioritized ${before.prioritized}); ${done} train-shard jobs completed; aggregate waiting ${after.wait}, waiting-children ${after['waiting-children']}; key slots ${[...slots].join(',')}`;
  } catch (err) {
    return `prefix ${prefix}: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    await worker?.close();
    await Promise.allSettled([...queues.map((q) => q.close()), flows.close()]);
    connection.disconnect();
  }
}

try {
  for (const prefix of ['{pmamba}', 'pmamba']) {
    console.log(await tryPrefix(prefix));
    console.log(`  deleted ${await deleteKeys(prefix)} keys under ${prefix}`);
  }
} finally {
  await store.close();
  rmSync(storeDir, { recursive: true, force: true });
}

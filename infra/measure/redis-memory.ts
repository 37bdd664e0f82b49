// Redis memory of BullMQ train-shard jobs with real payloads: plans a run with the coordinator's own
// planRun over a synthetic dataset, adds its round flows (aggregate ← train-shard × workers, built by
// the coordinator's roundFlow) under a unique prefix until `--jobs` train-shard jobs wait, measures,
// completes them with realistic results (completed jobs stay in Redis a week, JOB_OPTIONS), measures
// again, then deletes every key under the prefix. Memory is the sum of `MEMORY USAGE` over the
// prefix's keys (robust to other clients of a shared Redis), with INFO's used_memory delta beside it.
//   npx tsx infra/measure/redis-memory.ts --data DIR [--workers 4] [--jobs 1000] [--redis URL]
// DIR: a synthetic set (`pmamba dataset synth --out DIR --classes 8 --size 32 --train 454 --test 2`
// is the size of MVTec AD's 3,629 training images). docs/deploy.md ("Sizing") gives the numbers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { planRun } from '@pmamba/coordinator';
import { QUEUE_NAMES, layout, parseRunConfig, redisConnectionFromUrl, type ArtifactRef, type TrainShardResult } from '@pmamba/protocol';
import { openStore } from '@pmamba/store';
import { roundFlow } from '../../packages/coordinator/src/flows.ts';
import { openQueues } from '../../packages/coordinator/src/queues.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const data = option('data');
if (!data) throw new Error('--data DIR: a synthetic dataset (see the header)');
const workers = Number(option('workers', '4'));
const jobs = Number(option('jobs', '1000'));
const url = option('redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')!;
const prefix = `pmamba-measure-${randomBytes(4).toString('hex')}`;
const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

const storeDir = mkdtempSync(join(tmpdir(), 'pmamba-measure-store-'));
const store = await openStore(`file://${storeDir}`);
const config = parseRunConfig(
  {
    version: 1,
    run: { id: 'mvtec-paper' },
    dataset: { root: data, format: 'mvtec', imageSize: 256 },
    model: { preset: 'reference' },
    training: { rounds: 1000, localEpochs: 1, batchSize: 16, workers, checkpointEverySteps: 100 },
  },
  'measurement config',
);
const record = await planRun(config, { store });
const ref = (key: string): ArtifactRef => ({ key, sha256: 'a'.repeat(64), size: 85_000_000 });
const run = ref(layout.runRecordKey(record.runId));

const connection = redisConnectionFromUrl(url);
const redis = new Redis({ ...connection, maxRetriesPerRequest: 3 });
async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}
async function prefixKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}
async function measure(label: string, base: number): Promise<void> {
  const keys = await prefixKeys();
  let sum = 0;
  const byQueue: Record<string, number> = {};
  for (const key of keys) {
    const bytes = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    sum += bytes;
    const queue = key.split(':')[1];
    byQueue[queue] = (byQueue[queue] ?? 0) + bytes;
  }
  const wait = await redis.llen(`${prefix}:${QUEUE_NAMES.trainShard}:wait`);
  const prioritized = await redis.zcard(`${prefix}:${QUEUE_NAMES.trainShard}:prioritized`);
  const completed = await redis.zcard(`${prefix}:${QUEUE_NAMES.trainShard}:completed`);
  console.log(
    `${label}: ${keys.length} keys, MEMORY USAGE sum ${mib(sum)} (${Object.entries(byQueue).map(([q, b]) => `${q} ${mib(b)}`).join(', ')}), ` +
      `used_memory delta ${mib((await usedMemory()) - base)}; train-shard wait LLEN ${wait}, prioritized ZCARD ${prioritized}, completed ZCARD ${completed}`,
  );
}

const queues = openQueues({ connection, prefix });
try {
  await queues.byName[QUEUE_NAMES.trainShard].waitUntilReady();
  const base = await usedMemory();
  const flows = Math.ceil(jobs / workers);
  let sample = '';
  for (let round = 1; round <= flows; round++) {
    const flow = roundFlow(record, run, 0, round, ref(layout.mergedWeightsKey(record.runId, round - 1, layout.UNIFIED_MODEL)), ref(layout.mergedTrainerKey(record.runId, round - 1, layout.UNIFIED_MODEL)));
    sample ||= JSON.stringify(flow.children![0].data);
    await queues.flows.add(flow);
  }
  const items = (JSON.parse(sample) as { shards: { items: string[] }[] }).shards.reduce((n, s) => n + s.items.length, 0);
  console.log(
    `run ${record.runId}: ${record.plan.classes.length} classes, ${record.plan.shards.reduce((n, s) => n + s.items.length, 0)} training images, ` +
      `${workers} train-shard jobs per round; ${flows} round flows added under prefix ${prefix}; one train-shard payload: ${kib(sample.length)} JSON, ${items} image paths`,
  );
  await measure(`${flows * workers} train-shard jobs waiting (+ ${flows} aggregate parents)`, base);

  // Complete them as workers do: progress updates, one log line, a result.
  let done = 0;
  const worker = new Worker(
    QUEUE_NAMES.trainShard,
    async (job): Promise<TrainShardResult> => {
      await job.updateProgress({ done: 907, total: 907, unit: 'steps', loss: 0.4213 });
      await job.log(`${job.data.jobId} of round ${job.data.round}: resuming from its checkpoint at step 800/907`);
      done++;
      return {
        runId: job.data.runId,
        round: job.data.round,
        jobId: job.data.jobId,
        weights: ref(job.data.outputKey),
        trainer: ref(job.data.trainerOutputKey),
        samples: 14_512,
        steps: 907,
        loss: 0.42131234,
        resumedFromStep: 800,
        durationMs: 1_234_567.8,
        backend: 'tensorflow-gpu',
        timings: { computeMs: 1_100_000.1, dataMs: 100_000.2, storeMs: 30_000.3, modelLoadMs: 4_567.4 },
      };
    },
    { connection, prefix, concurrency: 50 },
  );
  while (done < flows * workers) await new Promise((r) => setTimeout(r, 200));
  await worker.close();
  await measure(`the same jobs completed (kept 7 days; their aggregate parents now waiting)`, base);
} finally {
  await queues.close();
  const keys = await prefixKeys();
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  console.log(`deleted ${keys.length} keys under ${prefix}; left: ${(await prefixKeys()).length}`);
  redis.disconnect();
  await store.close();
  rmSync(storeDir, { recursive: true, force: true });
}

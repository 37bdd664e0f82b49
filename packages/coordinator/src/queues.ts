/**
 * BullMQ settings shared by the coordinator and the workers: how each kind of job is retried
 * and kept, and how queues are opened under a key prefix.
 */
import { FlowProducer, Queue, type JobsOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { QUEUE_NAMES, checkClusterPrefix, type QueueName, type RedisConnectionOptions } from '@pmamba/protocol';

/** Where the queues live: a Redis connection and the prefix of every BullMQ key. */
export interface QueueTarget {
  /**
   * One Redis node's options (BullMQ opens a connection per queue), or an ioredis Cluster that
   * the queues share — its owner closes it; a cluster needs a hash-tagged prefix ({pmamba}).
   */
  connection: RedisConnectionOptions | Cluster;
  /** Several deployments (or test runs) share one Redis under different prefixes. */
  prefix: string;
}

const DAY_S = 24 * 3600;

/**
 * Per-queue job options. Training and evaluation retry twice with exponential backoff (a
 * crashed or killed worker's job also comes back through stall detection, which does not use
 * up an attempt); a child that fails for good fails its parent, so the coordinator hears of it
 * instead of waiting forever. Finished jobs stay a week (failed ones a month) for inspection;
 * ids are deterministic, and the store, not Redis, says what is done.
 */
export const JOB_OPTIONS: Record<QueueName, JobsOptions> = {
  // No parent: the coordinator waits for it alone, before round 0.
  [QUEUE_NAMES.teacherPretrain]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  },
  [QUEUE_NAMES.trainShard]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    failParentOnFailure: true,
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  },
  // No parent: the coordinator waits for each model's fit before that evaluation's flow.
  [QUEUE_NAMES.fitMap]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  },
  [QUEUE_NAMES.evaluate]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 5_000 },
    failParentOnFailure: true,
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  },
  [QUEUE_NAMES.aggregate]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  },
  [QUEUE_NAMES.report]: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { age: 7 * DAY_S },
    removeOnFail: { age: 30 * DAY_S },
  },
};

export interface Queues {
  byName: Record<QueueName, Queue>;
  flows: FlowProducer;
  close(): Promise<void>;
}

/** E_REDIS_PREFIX when the target is a Redis Cluster and its prefix has no hash tag. */
export function checkQueueTarget(target: QueueTarget): void {
  if (target.connection instanceof Cluster) checkClusterPrefix(target.prefix);
}

/** Opens one Queue per job kind and a FlowProducer, all under `target.prefix`. */
export function openQueues(target: QueueTarget): Queues {
  checkQueueTarget(target);
  const opts = { connection: target.connection, prefix: target.prefix };
  const byName = Object.fromEntries(Object.values(QUEUE_NAMES).map((name) => [name, new Queue(name, opts)])) as Record<QueueName, Queue>;
  const flows = new FlowProducer(opts);
  // Connection errors are retried by ioredis; callers see them as failed commands.
  for (const q of Object.values(byName)) q.on('error', () => undefined);
  flows.on('error', () => undefined);
  return {
    byName,
    flows,
    close: async () => {
      await Promise.allSettled([...Object.values(byName).map((q) => q.close()), flows.close()]);
    },
  };
}

/**
 * A run's jobs in Redis: BullMQ ids derive from the run (`<run>.r<round>.…` for training,
 * `<run>.e<round>.…` for evaluation; coordinator/src/job-ids.ts), so the run's jobs are those
 * whose id starts with `<run>.` — plus its teacher's pretraining job (`teacher.<fingerprint>`),
 * shared by the runs on the same images.
 */
import { Queue, type JobType } from 'bullmq';
import { QUEUE_NAMES, type ParsedRedisUrl, type RunRecord } from '@pmamba/protocol';
import { redisClient } from '../redis-client.ts';

/** The states shown, and the BullMQ sets each counts. */
const STATES = {
  active: ['active'],
  waiting: ['waiting', 'prioritized'],
  'waiting-children': ['waiting-children'],
  delayed: ['delayed'],
  failed: ['failed'],
  completed: ['completed'],
} as const satisfies Record<string, readonly JobType[]>;
export type RunJobState = keyof typeof STATES;
export const RUN_JOB_STATES = Object.keys(STATES) as RunJobState[];

export type StateCounts = Record<RunJobState, number>;

export interface RunJobs {
  prefix: string;
  total: StateCounts;
  byQueue: Record<string, StateCounts>;
  /** The run's failed jobs (at most 10) and why. */
  failed: { queue: string; id: string; reason: string }[];
  /** Workers connected per queue (null: Redis does not tell, e.g. CLIENT LIST is blocked). */
  workers: Record<string, number | null>;
}

const zero = (): StateCounts => Object.fromEntries(RUN_JOB_STATES.map((s) => [s, 0])) as StateCounts;

/** Whether a BullMQ job id belongs to the run. */
export function belongsToRun(record: RunRecord): (id: string) => boolean {
  const teacher = record.spec.teacher.source === 'self-supervised' ? `teacher.${record.spec.teacher.fingerprint}` : undefined;
  return (id) => id.startsWith(`${record.runId}.`) || id === teacher;
}

export async function readRunJobs(redis: ParsedRedisUrl, prefix: string, record: RunRecord): Promise<RunJobs> {
  const client = redisClient(redis, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const mine = belongsToRun(record);
  const queues = Object.values(QUEUE_NAMES).map((name) => new Queue(name, { connection: client, prefix }));
  try {
    const perQueue = await Promise.all(
      queues.map(async (queue) => {
        const counts = zero();
        const failed: RunJobs['failed'] = [];
        for (const state of RUN_JOB_STATES) {
          const ids = [...new Set((await queue.getRanges([...STATES[state]], 0, -1)).filter(mine))];
          counts[state] = ids.length;
          if (state === 'failed') {
            for (const id of ids.slice(0, 10)) failed.push({ queue: queue.name, id, reason: (await queue.getJob(id))?.failedReason ?? '?' });
          }
        }
        const workers = await queue.getWorkers().then((w) => w.length, () => null);
        return { name: queue.name, counts, failed, workers };
      }),
    );
    // In QUEUE_NAMES order, whichever queue answered first.
    const total = zero();
    for (const { counts } of perQueue) for (const state of RUN_JOB_STATES) total[state] += counts[state];
    const byQueue = Object.fromEntries(perQueue.map((q) => [q.name, q.counts]));
    const workers = Object.fromEntries(perQueue.map((q) => [q.name, q.workers]));
    const failed = perQueue.flatMap((q) => q.failed);
    return { prefix, total, byQueue, failed: failed.slice(0, 10), workers };
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    client.disconnect();
  }
}

/**
 * /metrics and /healthz of a process that drives runs (`pmamba train`): it runs no processors,
 * so the job metrics come from BullMQ's queue events — every worker's progress, completions and
 * failures on the prefix, as Redis streams them — instead of a worker's own events.
 */
import { Queue, QueueEvents } from 'bullmq';
import type { Cluster } from 'ioredis';
import type { RedisConnectionOptions } from '@pmamba/protocol';
import { serveMetrics, type MetricsServer } from './http.ts';
import { JobMetrics, imagesPerStep } from './job-metrics.ts';
import { QueueDepth } from './queue-depth.ts';

export interface QueueMetricsOptions {
  /** One Redis node's options, or an ioredis Cluster (its owner closes it). */
  connection: RedisConnectionOptions | Cluster;
  prefix: string;
  queues: readonly string[];
  port: number;
  /** Default: 0.0.0.0. */
  host?: string;
}

export async function startQueueMetrics(o: QueueMetricsOptions): Promise<MetricsServer> {
  const jobs = new JobMetrics(o.queues);
  const depth = new QueueDepth(o.connection, o.prefix, o.queues);
  const events: QueueEvents[] = [];
  const readers: Queue[] = [];
  // Training progress gives steps; images need the job's batch size, read once per job.
  const perStep = new Map<string, Promise<number | undefined>>();
  for (const queue of o.queues) {
    const reader = new Queue(queue, { connection: depth.client, prefix: o.prefix });
    reader.on('error', () => undefined);
    readers.push(reader);
    const batchOf = (jobId: string) => {
      const key = `${queue}:${jobId}`;
      let found = perStep.get(key);
      if (!found) perStep.set(key, (found = reader.getJob(jobId).then((job) => imagesPerStep(job?.data), () => undefined)));
      return found;
    };
    const e = new QueueEvents(queue, { connection: o.connection, prefix: o.prefix });
    e.on('error', () => undefined);
    e.on('progress', ({ jobId, data }) => {
      // The rate is measured from the report's arrival, so read the batch size after noting it.
      const at = performance.now();
      void batchOf(jobId).then((n) => jobs.progress(queue, jobId, data, n, at));
    });
    e.on('completed', ({ jobId }) => {
      jobs.outcome(queue, jobId, 'completed');
      perStep.delete(`${queue}:${jobId}`);
    });
    e.on('failed', ({ jobId }) => {
      jobs.outcome(queue, jobId, 'failed');
      perStep.delete(`${queue}:${jobId}`);
    });
    e.on('stalled', ({ jobId }) => jobs.outcome(queue, jobId, 'stalled'));
    events.push(e);
  }
  const closeAll = async () => {
    await Promise.all([...events.map((e) => e.close()), ...readers.map((r) => r.close())]);
    await depth.close();
  };
  try {
    const server = await serveMetrics({ port: o.port, host: o.host, jobs, depth, details: { prefix: o.prefix } });
    return { url: server.url, port: server.port, close: async () => (await server.close(), await closeAll()) };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

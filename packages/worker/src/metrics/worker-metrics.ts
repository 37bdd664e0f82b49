/**
 * /metrics and /healthz of a `pmamba worker`: its BullMQ workers' events and their jobs'
 * progress (sent up from the sandboxed processors) feed the job metrics; the depth is that of
 * the queues it serves.
 */
import type { Job } from 'bullmq';
import type { Cluster } from 'ioredis';
import type { RedisConnectionOptions } from '@pmamba/protocol';
import type { WorkerHandle } from '../worker.ts';
import { serveMetrics, type MetricsServer } from './http.ts';
import { JobMetrics, imagesPerStep } from './job-metrics.ts';
import { QueueDepth } from './queue-depth.ts';

export interface WorkerMetricsOptions {
  /** One Redis node's options, or an ioredis Cluster (its owner closes it). */
  connection: RedisConnectionOptions | Cluster;
  prefix: string;
  port: number;
  /** Default: 0.0.0.0. */
  host?: string;
}

export async function startWorkerMetrics(handle: WorkerHandle, o: WorkerMetricsOptions): Promise<MetricsServer> {
  const queues = [...new Set(handle.workers.map((w) => w.name))];
  const jobs = new JobMetrics(queues);
  for (const worker of handle.workers) {
    const queue = worker.name;
    worker.on('progress', (job: Job, progress: unknown) => jobs.progress(queue, job.id!, progress, imagesPerStep(job.data)));
    worker.on('completed', (job: Job) => jobs.outcome(queue, job.id, 'completed'));
    worker.on('failed', (job: Job | undefined, error: Error) => {
      // As the worker's own events tell it (worker.ts): unrecoverable or out of attempts is final.
      const attempts = job?.opts.attempts ?? 1;
      const retry = error.name !== 'UnrecoverableError' && (job?.attemptsMade ?? attempts) < attempts;
      jobs.outcome(queue, job?.id, retry ? 'retried' : 'failed');
    });
    worker.on('stalled', (jobId: string) => jobs.outcome(queue, jobId, 'stalled'));
  }
  const depth = new QueueDepth(o.connection, o.prefix, queues);
  try {
    const server = await serveMetrics({
      port: o.port,
      host: o.host,
      jobs,
      depth,
      serving: () => handle.workers.every((w) => w.isRunning()),
      details: { worker: handle.workers[0]?.opts.name, prefix: o.prefix },
    });
    return { url: server.url, port: server.port, close: async () => (await server.close(), await depth.close()) };
  } catch (err) {
    await depth.close();
    throw err;
  }
}

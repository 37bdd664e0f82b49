/**
 * Prometheus /metrics and /healthz for pmamba processes. prom-client and the HTTP server load
 * only when a process asks for them (`--metrics-port`), not with every command of the CLI.
 *
 * ```ts
 * const server = await startWorkerMetrics(handle, { connection, prefix: 'pmamba', port: 9464 });
 * // curl http://127.0.0.1:9464/metrics  ·  curl http://127.0.0.1:9464/healthz
 * await server.close();
 * ```
 */
import type { WorkerHandle } from '../worker.ts';
import type { MetricsServer } from './http.ts';
import type { QueueMetricsOptions } from './queue-metrics.ts';
import type { WorkerMetricsOptions } from './worker-metrics.ts';

export type { Health, MetricsServer } from './http.ts';
export type { QueueMetricsOptions } from './queue-metrics.ts';
export type { WorkerMetricsOptions } from './worker-metrics.ts';

/** Serves a worker's metrics: its jobs' outcomes, progress rates and loss, and its queues' depth. */
export async function startWorkerMetrics(handle: WorkerHandle, options: WorkerMetricsOptions): Promise<MetricsServer> {
  return (await import('./worker-metrics.ts')).startWorkerMetrics(handle, options);
}

/** Serves the metrics of a prefix's queues as a coordinator sees them: every worker's jobs, from BullMQ's queue events. */
export async function startQueueMetrics(options: QueueMetricsOptions): Promise<MetricsServer> {
  return (await import('./queue-metrics.ts')).startQueueMetrics(options);
}

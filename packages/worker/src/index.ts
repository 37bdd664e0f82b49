/**
 * @pmamba/worker: BullMQ workers with sandboxed teacher-pretrain, train-shard and evaluate
 * processors. The worker's own process never loads TensorFlow.js: its processor children do.
 *
 * ```ts
 * const handle = await startWorker({ connection, prefix: 'pmamba', storeUrl: 'file:///data/pmamba', concurrency: 2 });
 * process.once('SIGTERM', () => void handle.shutdown()); // training jobs hand back at their next step
 * ```
 */
export { startWorker, PROCESSORS } from './worker.ts';
export type { WorkerHandle, WorkerEvent, WorkerQueue } from './worker.ts';
export { childExecArgv } from './exec-argv.ts';
export { startWorkerMetrics, startQueueMetrics } from './metrics/index.ts';
export type { Health, MetricsServer, QueueMetricsOptions, WorkerMetricsOptions } from './metrics/index.ts';

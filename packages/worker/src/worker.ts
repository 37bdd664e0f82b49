/**
 * `pmamba worker`: BullMQ workers for the teacher-pretrain, train-shard, fit-map and evaluate queues whose processors run
 * sandboxed, in child processes, so a long tensor computation never stalls the parent's event
 * loop — which renews job locks, answers stall checks and reports progress.
 *
 * With several GPUs (`gpus: ['0', '1']`) there is one worker per GPU and queue, each with
 * concurrency 1 and a child process that sees only its GPU (CUDA_VISIBLE_DEVICES); without,
 * one worker per queue runs `concurrency` jobs, each in its own child.
 *
 * Shutdown (`shutdown()`, on SIGTERM in the CLI): no new jobs are taken; training jobs write a
 * checkpoint at their next step and go back to the wait list for another worker; evaluations
 * finish. A job lost with its worker (SIGKILL, power cut) is found by the stall check of any
 * other worker once its lock expires, and resumes from its checkpoint.
 */
import { Worker, type Job } from 'bullmq';
import { Cluster } from 'ioredis';
import { threadsPerProcess, type BackendChoice } from '@pmamba/model/spec';
import { QUEUE_NAMES, checkClusterPrefix, type QueueName, type RedisConnectionOptions } from '@pmamba/protocol';
import { childEnv } from './child-env.ts';
import { WorkerError } from './errors.ts';
import { childExecArgv } from './exec-argv.ts';

/** The queues a worker can serve, with their sandboxed processor files. */
export const PROCESSORS = {
  [QUEUE_NAMES.teacherPretrain]: new URL('./processors/teacher-pretrain.ts', import.meta.url),
  [QUEUE_NAMES.trainShard]: new URL('./processors/train-shard.ts', import.meta.url),
  [QUEUE_NAMES.fitMap]: new URL('./processors/fit-map.ts', import.meta.url),
  [QUEUE_NAMES.evaluate]: new URL('./processors/evaluate.ts', import.meta.url),
} as const;
export type WorkerQueue = keyof typeof PROCESSORS;

export interface WorkerOptions {
  /**
   * One Redis node's options, or an ioredis Cluster (the workers share it and duplicate it for
   * their blocking commands; its owner closes it). A cluster needs a hash-tagged prefix.
   */
  connection: RedisConnectionOptions | Cluster;
  /** BullMQ key prefix; the coordinator's. */
  prefix: string;
  /** Artifact store URL (file://… or s3://…); must be the coordinator's store. */
  storeUrl: string;
  /** Compute backend of the processors. Default: auto. */
  backend?: BackendChoice;
  /** Jobs run at once per queue (each in its own process); ignored when `gpus` is given. Default: 1. */
  concurrency?: number;
  /** CUDA device ids; one job per GPU, each process seeing only its GPU. Default: none. */
  gpus?: readonly string[];
  /** Queues served. Default: all of them (teacher-pretrain, train-shard, fit-map, evaluate). */
  queues?: readonly WorkerQueue[];
  /**
   * How long a job's lock lasts without renewal (ms). The parent renews it every half of this;
   * a worker that dies loses its jobs to another worker after at most this plus stalledIntervalMs.
   * Default: 60 000.
   */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock expired (ms). Default: 30 000. */
  stalledIntervalMs?: number;
  /** Times a job may be recovered from a dead worker before it fails (a job that kills its worker every time must end). Default: 2. */
  maxStalledCount?: number;
  /** Name shown on the jobs this worker takes (BullMQ's job.processedBy). Default: pmamba-<host>-<pid>. */
  name?: string;
  /** Node flags of the processor processes. Default: childExecArgv(process.execArgv, tsx's loader). */
  execArgv?: string[];
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'active'; queue: WorkerQueue; job: Job; slot: string }
  | { type: 'completed'; queue: WorkerQueue; job: Job; slot: string; ms: number }
  | { type: 'failed'; queue: WorkerQueue; job: Job | undefined; slot: string; error: Error; willRetry: boolean }
  | { type: 'stalled'; queue: WorkerQueue; jobId: string; slot: string }
  | { type: 'error'; queue: WorkerQueue; error: Error; slot: string };

export interface WorkerHandle {
  readonly workers: readonly Worker[];
  /** Graceful stop: take no new jobs, hand training jobs back at their next step, finish evaluations. */
  shutdown(): Promise<void>;
  /** Stops at once; running jobs are recovered by another worker's stall check. */
  kill(): Promise<void>;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new WorkerError('E_WORKER_OPTIONS', `${name} must be a positive integer, got ${value}`);
  return v;
}

/** Starts the workers; resolves once each has connected to Redis. */
export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const queues = options.queues ?? (Object.keys(PROCESSORS) as WorkerQueue[]);
  if (options.connection instanceof Cluster) checkClusterPrefix(options.prefix);
  const gpus = options.gpus ?? [];
  if (gpus.some((g) => !/^\d+$/.test(g))) throw new WorkerError('E_WORKER_OPTIONS', `--gpus takes device numbers like 0,1; got ${gpus.join(',')}`);
  const concurrency = gpus.length > 0 ? 1 : positive('--concurrency', options.concurrency, 1);
  const lockDuration = positive('lockDurationMs', options.lockDurationMs, 60_000);
  const stalledInterval = positive('stalledIntervalMs', options.stalledIntervalMs, 30_000);
  const maxStalledCount = options.maxStalledCount ?? 2;
  const execArgv = options.execArgv ?? childExecArgv(process.execArgv, import.meta.resolve('tsx'));
  const name = options.name ?? `pmamba-${process.env.HOSTNAME ?? 'host'}-${process.pid}`;
  const slots = gpus.length > 0 ? gpus.map((g) => ({ slot: `gpu${g}`, env: { CUDA_VISIBLE_DEVICES: g } })) : [{ slot: 'cpu', env: {} }];
  const emit = (e: WorkerEvent) => options.onEvent?.(e);
  // Each job process computes on PMAMBA_THREADS threads; unset, `concurrency` of them share the cores.
  const threads = threadsPerProcess(concurrency);

  const workers: { worker: Worker; queue: WorkerQueue }[] = [];
  for (const { slot, env } of slots) {
    for (const queue of queues) {
      const worker = new Worker(queue as QueueName, PROCESSORS[queue], {
        connection: options.connection,
        prefix: options.prefix,
        name,
        concurrency,
        lockDuration,
        stalledInterval,
        maxStalledCount,
        workerForkOptions: {
          execArgv,
          env: { ...process.env, PMAMBA_THREADS: threads, ...env, ...childEnv({ storeUrl: options.storeUrl, backend: options.backend ?? 'auto' }) },
        },
      });
      const started = new Map<string, number>();
      worker.on('active', (job) => {
        started.set(job.id!, Date.now());
        emit({ type: 'active', queue, job, slot });
      });
      worker.on('completed', (job) => emit({ type: 'completed', queue, job, slot, ms: Date.now() - (started.get(job.id!) ?? Date.now()) }));
      worker.on('failed', (job, error) => {
        const attempts = job?.opts.attempts ?? 1;
        const willRetry = error.name !== 'UnrecoverableError' && (job?.attemptsMade ?? attempts) < attempts;
        emit({ type: 'failed', queue, job, slot, error, willRetry });
      });
      worker.on('stalled', (jobId) => emit({ type: 'stalled', queue, jobId, slot }));
      worker.on('error', (error) => emit({ type: 'error', queue, error, slot }));
      workers.push({ worker, queue });
    }
  }
  await Promise.all(workers.map(({ worker }) => worker.waitUntilReady()));

  let stopping: Promise<void> | undefined;
  return {
    workers: workers.map((w) => w.worker),
    shutdown: () => {
      stopping ??= (async () => {
        // close() stops fetching at once and then waits for the running jobs, which the cancel ends early.
        const closed = workers.map(({ worker }) => worker.close());
        for (const { worker, queue } of workers) if (queue !== QUEUE_NAMES.evaluate) worker.cancelAllJobs('worker shutting down');
        await Promise.all(closed);
      })();
      return stopping;
    },
    kill: async () => {
      await Promise.all(workers.map(({ worker }) => worker.close(true)));
    },
  };
}

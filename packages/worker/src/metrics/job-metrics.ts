/**
 * The metrics a pmamba process keeps about jobs, in a prom-client registry of its own: outcomes
 * per queue, seconds per training step, images per second and the last training loss — all fed
 * from what jobs already report (BullMQ events and `JobProgress`: done/total/unit/loss), so the
 * processors need nothing new. The process's default metrics (CPU, memory, event loop) ride along.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobProgress } from '@pmamba/protocol';

export type JobOutcome = 'completed' | 'failed' | 'retried' | 'stalled';

/** Buckets for seconds per step: a 32² smoke test takes ~0.1 s, a 256² batch on CPU tens of seconds. */
const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Images per training step of a job payload (train-shard: its spec's batch; teacher-pretrain: its own batch). */
export function imagesPerStep(data: unknown): number | undefined {
  const d = data as { batchSize?: unknown; spec?: { batchSize?: unknown } } | undefined;
  const n = d?.batchSize ?? d?.spec?.batchSize;
  return typeof n === 'number' && n > 0 ? n : undefined;
}

function isProgress(p: unknown): p is JobProgress {
  const o = p as Partial<JobProgress> | null;
  return typeof o === 'object' && o !== null && typeof o.done === 'number' && typeof o.total === 'number';
}

export class JobMetrics {
  readonly registry = new Registry();
  private readonly outcomes: Record<JobOutcome, Counter<'queue'>>;
  private readonly stepSeconds: Histogram<'queue'>;
  private readonly imagesPerSecond: Gauge<'queue'>;
  private readonly loss: Gauge<'queue'>;
  /** Where each running job's progress was last seen: rates are measured between two reports. */
  private readonly last = new Map<string, { done: number; at: number }>();

  constructor(queues: readonly string[], private readonly now: () => number = () => performance.now()) {
    const registers = [this.registry];
    this.outcomes = {
      completed: new Counter({ name: 'pmamba_jobs_completed_total', help: 'Jobs this process saw complete, by queue', labelNames: ['queue'], registers }),
      failed: new Counter({ name: 'pmamba_jobs_failed_total', help: 'Jobs that failed for good (no attempt left, or unrecoverable), by queue', labelNames: ['queue'], registers }),
      retried: new Counter({ name: 'pmamba_jobs_retried_total', help: 'Failed attempts that BullMQ retries, by queue', labelNames: ['queue'], registers }),
      stalled: new Counter({ name: 'pmamba_jobs_stalled_total', help: 'Jobs found without their worker and queued again, by queue', labelNames: ['queue'], registers }),
    };
    this.stepSeconds = new Histogram({ name: 'pmamba_train_step_seconds', help: 'Wall seconds per optimiser step, measured between progress reports', labelNames: ['queue'], buckets: STEP_BUCKETS, registers });
    this.imagesPerSecond = new Gauge({ name: 'pmamba_images_per_second', help: 'Images per second of the latest progress interval (training: steps × batch size; evaluation: test images)', labelNames: ['queue'], registers });
    this.loss = new Gauge({ name: 'pmamba_train_loss', help: 'Mean loss of the steps so far, as the latest training progress report gave it', labelNames: ['queue'], registers });
    // Series that exist from the start read 0, not "no data", on a fresh process.
    for (const queue of queues) for (const c of Object.values(this.outcomes)) c.inc({ queue }, 0);
    collectDefaultMetrics({ register: this.registry });
  }

  /** A job's progress report, seen at `now`; `perStep` images per step for training jobs. */
  progress(queue: string, jobId: string, progress: unknown, perStep?: number, now = this.now()): void {
    if (!isProgress(progress)) return;
    const key = `${queue}:${jobId}`;
    const before = this.last.get(key);
    this.last.set(key, { done: progress.done, at: now });
    if (progress.loss !== undefined) this.loss.set({ queue }, progress.loss);
    // The first report (or one after a retry went back to a checkpoint) only sets the baseline.
    if (!before || progress.done <= before.done || now <= before.at) return;
    const seconds = (now - before.at) / 1000;
    const advanced = progress.done - before.done;
    if (progress.unit === 'steps') {
      for (let i = 0; i < Math.min(advanced, 1000); i++) this.stepSeconds.observe({ queue }, seconds / advanced);
      if (perStep) this.imagesPerSecond.set({ queue }, (advanced * perStep) / seconds);
    } else if (progress.unit === 'images') {
      this.imagesPerSecond.set({ queue }, advanced / seconds);
    }
  }

  /** A job's attempt ended (or was found stalled). */
  outcome(queue: string, jobId: string | undefined, outcome: JobOutcome): void {
    this.outcomes[outcome].inc({ queue });
    if (jobId !== undefined) this.last.delete(`${queue}:${jobId}`);
  }
}

/** What a processor gives a job's logic, and what a job that stopped early returns. */
import type { JobProgress } from '@pmamba/protocol';

export interface JobContext {
  progress(p: JobProgress): Promise<void>;
  /** Aborted when the worker shuts down: checkpoint and hand the job back. */
  signal?: AbortSignal;
  log(message: string): void;
}

/** A job that stopped early at shutdown; its checkpoint is in the store. */
export interface HandedBack {
  handedBack: true;
  step: number;
}

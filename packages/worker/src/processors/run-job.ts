/**
 * What both sandboxed processors share: the process-wide runtime, payload parsing, progress and
 * logs through the job, and the mapping of errors to BullMQ's retry rules — errors that cannot
 * succeed on a retry (a bad payload, bad data, a diverged loss) fail the job at once.
 */
import type { SandboxedJob } from 'bullmq';
import { DelayedError, UnrecoverableError, WaitingError } from 'bullmq';
import { DataError } from '@pmamba/data';
import { WeightsMismatchError } from '@pmamba/model';
import { ProtocolError, type JobProgress } from '@pmamba/protocol';
import { readChildEnv } from '../child-env.ts';
import { WorkerError } from '../errors.ts';
import { WorkerRuntime } from '../runtime.ts';
import type { HandedBack, JobContext } from '../job-context.ts';
import { jobLine } from './job-line.ts';

let runtime: WorkerRuntime | undefined;

/** This process's runtime, created on first use from the environment `pmamba worker` set. */
export function processRuntime(): WorkerRuntime {
  runtime ??= new WorkerRuntime(readChildEnv());
  return runtime;
}

/** A stop request: the worker's cancel signal, or SIGTERM/SIGINT sent to this process itself. */
const stopRequested = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => stopRequested.abort(signal));
// A processor whose worker died (SIGKILL, crash) no longer holds its job's lock: another worker
// will resume the job, so this one must not go on writing the same keys.
process.on('disconnect', () => process.exit(1));

/** Progress and logs of a job; add `signal: stopSignal(…)` for jobs that stop early. */
export function jobContext(job: SandboxedJob): JobContext {
  return {
    progress: (p: JobProgress) => job.updateProgress(p),
    log: (message: string) => {
      process.stderr.write(jobLine(process.env.PMAMBA_LOG_FORMAT, job, message));
      job.log(message);
    },
  };
}

/** Aborts when the worker cancels the job (its graceful shutdown) or this process gets SIGTERM/SIGINT. */
export function stopSignal(signal: AbortSignal | undefined): AbortSignal {
  return signal ? AbortSignal.any([signal, stopRequested.signal]) : stopRequested.signal;
}

function isPermanent(err: unknown): boolean {
  if (err instanceof WorkerError) return err.permanent;
  return err instanceof ProtocolError || err instanceof DataError || err instanceof WeightsMismatchError;
}

/** How long a job this worker cannot serve (another store) waits before any worker may take it again. */
const GIVE_BACK_MS = 30_000;

/**
 * Runs `work`, turning permanent errors into UnrecoverableError (keeping the message). A job
 * whose run lives in another store than this worker's is given back, delayed, without using
 * up an attempt: wrong for this worker, not for the run.
 */
export async function runJob<T>(job: SandboxedJob, token: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof WorkerError && err.code === 'E_WRONG_STORE') {
      jobContext(job).log(`${err.message}; giving the job back for another worker (retried in ${GIVE_BACK_MS / 1000} s) [E_WRONG_STORE]`);
      await job.moveToDelayed(Date.now() + GIVE_BACK_MS, token);
      throw new DelayedError();
    }
    if (isPermanent(err)) {
      const e = err as Error & { code?: string };
      throw new UnrecoverableError(`${e.message}${e.code ? ` [${e.code}]` : ''}`);
    }
    throw err;
  }
}

/**
 * The processor of a queue whose jobs checkpoint (teacher-pretrain, train-shard): at shutdown
 * `work` returns `handedBack` after its checkpoint, and the job moves itself back to the wait
 * list, ending with WaitingError — handed back, not failed — for the next worker to resume.
 */
export function checkpointingProcessor<T>(work: (job: SandboxedJob, ctx: JobContext) => Promise<T | HandedBack>) {
  return async (job: SandboxedJob, token?: string, signal?: AbortSignal): Promise<T> => {
    const ctx = { ...jobContext(job), signal: stopSignal(signal) };
    const out = await runJob(job, token, () => work(job, ctx));
    if (typeof out === 'object' && out !== null && 'handedBack' in out) {
      ctx.log(`shutting down: handed back at step ${(out as HandedBack).step}; another worker resumes from the checkpoint`);
      await job.moveToWait(token);
      throw new WaitingError();
    }
    return out as T;
  };
}

/**
 * Errors of the worker. `permanent` ones can never succeed on a retry (bad payload, bad data,
 * weights that do not fit): the processors turn them into BullMQ's UnrecoverableError so the
 * job fails at once with this message instead of burning its attempts.
 */

export type WorkerErrorCode =
  | 'E_WORKER_OPTIONS' // an option of `pmamba worker` is invalid
  | 'E_TRAINING_DIVERGED' // the loss became NaN or infinite
  | 'E_NO_IMAGES' // every image of a job was unreadable (policy skip)
  | 'E_STORE_MISSING' // an artifact the job needs is not in the store
  | 'E_WRONG_STORE'; // the worker's store is not the run's (its run record is missing or different)

export class WorkerError extends Error {
  readonly code: WorkerErrorCode;
  /** True when retrying cannot help. */
  readonly permanent: boolean;

  constructor(code: WorkerErrorCode, message: string, options: { permanent?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'WorkerError';
    this.code = code;
    this.permanent = options.permanent ?? true;
  }
}

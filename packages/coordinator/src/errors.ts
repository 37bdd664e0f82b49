/**
 * Errors of the coordinator. Each has a stable code; the message names the run, round, job,
 * file or field and says what to do.
 */

export type CoordinatorErrorCode =
  | 'E_CONFIG' // the run config does not fit the dataset or the model
  | 'E_DATASET' // the dataset cannot be used (missing, empty, bad images under policy fail)
  | 'E_RUN_EXISTS' // a new run would overwrite one already in the store
  | 'E_RUN_NOT_FOUND' // --resume names a run the store does not hold
  | 'E_JOB_FAILED' // a job failed for good (its attempts are spent, or its error is permanent)
  | 'E_WEIGHTS_INCOMPATIBLE' // checkpoints cannot be averaged (none given, bad sample counts, other tensors)
  | 'E_STOPPED' // the coordinator was closed while the run was in progress
  | 'E_SWEEP' // a sweep cannot be planned or resumed (no sweep block, a name clash, a changed config)
  | 'E_SWEEP_NOT_FOUND'; // --resume names a sweep the store does not hold

export class CoordinatorError extends Error {
  readonly code: CoordinatorErrorCode;

  constructor(code: CoordinatorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CoordinatorError';
    this.code = code;
  }
}

/** Checkpoints that cannot be averaged: the message names the input and the tensor. */
export class AverageWeightsError extends CoordinatorError {
  constructor(message: string) {
    super('E_WEIGHTS_INCOMPATIBLE', message);
    this.name = 'AverageWeightsError';
  }
}

export type ScheduleErrorCode =
  | 'E_SCHEDULE_NOT_FOUND' // the store holds no schedule of that name
  | 'E_SCHEDULE_EXISTS' // `schedule add` of a name the store already holds
  | 'E_SCHEDULE_TIMING'; // a cron pattern, time zone or interval BullMQ cannot use

/** Errors of schedules (add, pause, resume, remove, the scheduler): the message names the schedule and what to do. */
export class ScheduleError extends Error {
  readonly code: ScheduleErrorCode;

  constructor(code: ScheduleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScheduleError';
    this.code = code;
  }
}

/**
 * Errors of the model registry. Each has a stable code; the message names the model, version
 * or run and says what to do.
 */

export type RegistryErrorCode =
  | 'E_MODEL_REF' // a model reference that is not NAME or NAME@N
  | 'E_BAD_ARGUMENT' // a gate metric or margin that cannot be used
  | 'E_MODEL_NOT_FOUND' // no version of the named model is registered
  | 'E_VERSION_NOT_FOUND' // the model has no version with this number
  | 'E_NO_CHAMPION' // the model has no champion (resolve NAME without @N)
  | 'E_NO_PREVIOUS' // rollback: there is no earlier champion to go back to
  | 'E_RUN_NOT_FOUND' // the store holds no record of the run
  | 'E_RUN_UNFINISHED' // the run has no manifest yet: it is still going, or stopped
  | 'E_RUN_NO_METRICS' // the finished run has neither a table in its manifest nor a report.json
  | 'E_WEIGHTS_MISMATCH' // a run's weights are not the bytes its manifest lists
  | 'E_WEIGHTS_NOT_FOUND'; // the version holds no weights of the model asked for (e.g. per-class)

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryError';
    this.code = code;
  }
}

export function isRegistryError(err: unknown, code?: RegistryErrorCode): err is RegistryError {
  return err instanceof RegistryError && (code === undefined || err.code === code);
}

/**
 * Errors raised by @pmamba/model. Each carries a stable `code` (the CLI prints it in brackets
 * after the message); the message names the file, tensor, option or shape that is wrong.
 */

export type ModelErrorCode =
  | 'E_MODEL_CONFIG_INVALID' // a model config (or preset override) does not validate
  | 'E_BACKEND_UNAVAILABLE' // the requested tfjs backend cannot be loaded
  | 'E_WEIGHTS_MISMATCH' // a state dict's names or shapes do not fit the model
  | 'E_TEACHER_ARCH_MISMATCH' // teacher weights are for another encoder than the config's
  | 'E_SAFETENSORS_INVALID' // a safetensors file is malformed
  | 'E_PTH_INVALID' // a PyTorch .pth file is malformed or unsupported
  | 'E_PTH_GLOBAL_REFUSED' // a .pth pickle names a global outside the state-dict whitelist
  | 'E_PICKLE_INVALID' // a pickle stream is malformed or uses an unsupported opcode
  | 'E_ZIP_INVALID' // a zip archive (inside a .pth) is malformed or unsupported
  | 'E_OPTIMIZER_STATE_MISMATCH' // a saved optimizer state does not fit the parameters
  | 'E_PYRAMID_SCAN_SIZE' // a feature map cannot be split into the pyramid's windows
  | 'E_SCAN_PARAMS_SHAPE' // the scan parameters disagree with each other or with the channels
  | 'E_CROSS_SELECTIVE_SCAN_SHAPE' // crossSelectiveScan's inputs have the wrong shapes or dtypes
  | 'E_SCAN_POOL' // the scan thread pool cannot start or is misconfigured
  | 'E_SCAN_MEMORY'; // a scan task needs more WebAssembly memory than can be had

/** Base class of every error of this package. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class ModelConfigError extends ModelError {
  constructor(message: string) { super('E_MODEL_CONFIG_INVALID', message); }
}

export class BackendError extends ModelError {
  constructor(message: string) { super('E_BACKEND_UNAVAILABLE', message); }
}

export class WeightsMismatchError extends ModelError {
  constructor(message: string) { super('E_WEIGHTS_MISMATCH', message); }
}

export class TeacherArchError extends ModelError {
  constructor(message: string) { super('E_TEACHER_ARCH_MISMATCH', message); }
}

export class SafetensorsError extends ModelError {
  constructor(message: string) { super('E_SAFETENSORS_INVALID', message); }
}

/** Malformed or unsupported .pth file structure. */
export class PthError extends ModelError {
  constructor(message: string) { super('E_PTH_INVALID', message); }
}

/** The pickle names a global outside the state-dict whitelist. */
export class PthGlobalError extends ModelError {
  constructor(message: string) { super('E_PTH_GLOBAL_REFUSED', message); }
}

export class PickleError extends ModelError {
  constructor(message: string) { super('E_PICKLE_INVALID', message); }
}

export class ZipError extends ModelError {
  constructor(message: string) { super('E_ZIP_INVALID', message); }
}

export class OptimizerStateError extends ModelError {
  constructor(message: string) { super('E_OPTIMIZER_STATE_MISMATCH', message); }
}

export class PyramidScanError extends ModelError {
  constructor(message: string) { super('E_PYRAMID_SCAN_SIZE', message); }
}

export class ScanParamsError extends ModelError {
  constructor(message: string) { super('E_SCAN_PARAMS_SHAPE', message); }
}

export class CrossSelectiveScanShapeError extends ModelError {
  constructor(message: string) { super('E_CROSS_SELECTIVE_SCAN_SHAPE', message); }
}

export class ScanPoolError extends ModelError {
  constructor(message: string) { super('E_SCAN_POOL', message); }
}

export class ScanMemoryError extends ModelError {
  constructor(message: string) { super('E_SCAN_MEMORY', message); }
}

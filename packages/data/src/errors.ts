/**
 * Errors raised by @pmamba/data. Every error carries a stable `code` and the `path` it is
 * about, so callers (the coordinator, the CLI) can report or skip one file without guessing.
 */

/** Stable error codes; the CLI prints them in brackets after the message. */
export type DataErrorCode =
  | 'E_NPY_FORMAT' // a .npy file is malformed or uses an unsupported feature
  | 'E_NPY_SHAPE' // data length does not match the declared shape
  | 'E_IMAGE_UNREADABLE' // not an image, or a format we cannot decode
  | 'E_IMAGE_TRUNCATED' // the file ends before the image data does
  | 'E_IMAGE_CHANNELS' // grey where colour is required (or an unsupported channel count)
  | 'E_MASK_MISSING' // an anomalous test image has no ground-truth mask
  | 'E_MASK_UNREADABLE' // a mask file exists but cannot be decoded
  | 'E_CLASS_EMPTY' // a class has no training images
  | 'E_MASKS_EMPTY' // every defect mask of a class is all background: its pixel metrics are undefined
  | 'E_TEST_LABELS' // a class's test set lacks normal or anomalous images: its image metrics are undefined
  | 'E_PATH_ESCAPE' // a path (usually a symlink) resolves outside the dataset root
  | 'E_LAYOUT' // the folder does not have the layout the reader expects
  | 'E_SPLIT_CSV' // a VisA split CSV is malformed or names missing files
  | 'E_ARGUMENT'; // an option has an invalid value

/** Base class: `code` says what went wrong, `path` says where. */
export class DataError extends Error {
  readonly code: DataErrorCode;
  readonly path: string | undefined;

  constructor(code: DataErrorCode, message: string, path?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataError';
    this.code = code;
    this.path = path;
  }
}

/** A `.npy` file or buffer that cannot be read or written as asked. */
export class NpyError extends DataError {
  constructor(code: 'E_NPY_FORMAT' | 'E_NPY_SHAPE', message: string, path?: string) {
    super(code, message, path);
    this.name = 'NpyError';
  }
}

/** An image or mask file that cannot be decoded. */
export class ImageDecodeError extends DataError {
  constructor(
    code: 'E_IMAGE_UNREADABLE' | 'E_IMAGE_TRUNCATED' | 'E_IMAGE_CHANNELS' | 'E_MASK_UNREADABLE',
    message: string,
    path?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, path, options);
    this.name = 'ImageDecodeError';
  }
}

/** A dataset folder whose content breaks the reader's layout rules. */
export class DatasetLayoutError extends DataError {
  constructor(
    code: 'E_MASK_MISSING' | 'E_CLASS_EMPTY' | 'E_PATH_ESCAPE' | 'E_LAYOUT' | 'E_SPLIT_CSV',
    message: string,
    path?: string,
  ) {
    super(code, message, path);
    this.name = 'DatasetLayoutError';
  }
}

/**
 * What to do with one bad file or class: `fail` throws its DataError; `skip` drops it, reports
 * a warning through `onWarning`, and carries on with everything else.
 */
export type BadInputPolicy = 'fail' | 'skip';

/** A problem that was skipped under policy `skip`. */
export interface DataWarning {
  code: DataErrorCode;
  path: string | undefined;
  message: string;
}

/** Receives skipped problems; the default writes them to stderr. */
export type WarningHandler = (warning: DataWarning) => void;

/** Writes a warning as `pmamba data: warning [CODE] message` on stderr. */
export const stderrWarning: WarningHandler = (w) => {
  process.stderr.write(`pmamba data: warning [${w.code}] ${w.message}\n`);
};

/**
 * Applies a policy to an error: throws under `fail`, reports and returns under `skip`.
 * Errors that are not DataErrors are always rethrown: they are bugs, not bad input.
 */
export function handleBadInput(
  err: unknown,
  policy: BadInputPolicy,
  onWarning: WarningHandler = stderrWarning,
): void {
  if (!(err instanceof DataError) || policy === 'fail') throw err;
  onWarning({ code: err.code, path: err.path, message: err.message });
}

/**
 * Errors of the CLI. Each has a stable `code`, printed in brackets after the message; the
 * message names the file, option or URL and says what to do.
 */

export type CliErrorCode =
  | 'E_BAD_OPTION' // options that contradict each other or the config
  | 'E_INPUT_MISSING' // a `predict` input does not exist
  | 'E_INPUT_EMPTY' // a `predict` input folder holds no images
  | 'E_INPUT_TYPE' // a `predict` input is neither an image nor a single .npy
  | 'E_INPUT_SHAPE' // a `predict` .npy input is not N×3×S×S float32
  | 'E_NOT_FINITE' // a `predict` .npy input holds NaN or ±Infinity (as `metrics` refuses them)
  | 'E_WEIGHTS_MISSING' // the weights file cannot be read
  | 'E_WEIGHTS_ENCODER_ONLY' // the weights hold only an encoder, not a trained model
  | 'E_REDIS_MISSING' // no Redis URL given and no redis-server to start
  | 'E_REDIS_START' // the local redis-server exited before accepting connections
  | 'E_REDIS_UNREACHABLE' // Redis does not answer at the URL
  | 'E_REDIS_CLUSTER' // a redis:// URL names one node of a Redis Cluster (redis+cluster:// names the cluster)
  | 'E_STOPPED' // the run was interrupted; it can be resumed
  | 'E_SWEEP_FAILED' // some of a sweep's runs failed; the others finished and are tabulated
  | WeightsErrorCode;

/** Errors of a weights download (`pmamba weights fetch`, teacher weights given by URL). */
export type WeightsErrorCode =
  /** The finished file's sha256 (or size) is not the pinned one; the download was deleted. */
  | 'E_WEIGHTS_HASH'
  /** The server offers a file of another size than the pinned one; nothing was downloaded. */
  | 'E_WEIGHTS_SIZE'
  /** The connection kept failing beyond the retries; the `.part` file is kept for a rerun. */
  | 'E_WEIGHTS_CUT'
  /** The server answered with an error status that retrying will not fix (404, 403, …). */
  | 'E_WEIGHTS_HTTP'
  /** The target exists with other content; it is never overwritten. */
  | 'E_WEIGHTS_EXISTS'
  /** Stopped by the caller (Ctrl-C); the `.part` file is kept for a rerun. */
  | 'E_WEIGHTS_ABORTED'
  /** A malformed argument (sha256 not hex, URL not http(s)). */
  | 'E_WEIGHTS_ARGUMENT';

/** A user-facing CLI error: the message names the file or option and what to do. */
export class CliError extends Error {
  constructor(message: string, readonly code: CliErrorCode, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failed weights download; the message names the URL or file and what to do. */
export class WeightsError extends CliError {
  constructor(
    override readonly code: WeightsErrorCode,
    message: string,
    /** Bytes of the file held in `.part` when the error happened (cut / aborted downloads). */
    readonly received?: number,
  ) {
    super(message, code);
  }
}

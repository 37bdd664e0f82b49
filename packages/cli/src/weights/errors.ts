import { CliError } from '../errors.ts';

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

/**
 * Errors raised by @pmamba/metrics. Each carries a stable `code` and, where it is about one
 * input, the `field` it names, so a caller (the CLI, an evaluation job) can say exactly which
 * array or file is wrong.
 */

/** Stable error codes; the CLI prints them in brackets after the message. */
export type MetricsErrorCode =
  | 'E_SHAPE' // lengths or shapes of the inputs disagree
  | 'E_NOT_FINITE' // a score or map value is NaN or ±Infinity (scikit-learn refuses these too)
  | 'E_LABEL_VALUE' // an image label is not 0 or 1
  | 'E_ONE_CLASS' // only normal or only anomalous samples: the metric is undefined
  | 'E_ARGUMENT' // an option has an invalid value
  | 'E_REFERENCE_FILE'; // the reference-results YAML is unreadable or malformed

/** Base class for every error of this package. */
export class MetricsError extends Error {
  readonly code: MetricsErrorCode;
  /** The input, option or file the error is about (e.g. `labels`, `maps`, `fprLimit`). */
  readonly field: string | undefined;

  constructor(code: MetricsErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetricsError';
    this.code = code;
    this.field = field;
  }
}

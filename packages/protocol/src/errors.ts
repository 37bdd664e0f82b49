/**
 * Errors raised by @pmamba/protocol. Each has a stable `code`, and validation errors carry
 * one `FieldIssue` per problem, so a caller can print them or pick out the field.
 */

export type ProtocolErrorCode =
  | 'E_CONFIG_READ' // the config file cannot be read
  | 'E_CONFIG_YAML' // the config file is not valid YAML
  | 'E_CONFIG_INVALID' // the config does not match the schema
  | 'E_SWEEP_INVALID' // a sweep block, or one of its variants, is invalid
  | 'E_PAYLOAD_INVALID' // a job payload does not match its queue's schema
  | 'E_RESULT_INVALID' // a job result does not match its queue's schema
  | 'E_MANIFEST_INVALID' // a run record or manifest does not match its schema
  | 'E_QUEUE_UNKNOWN' // a queue name that is not one of QUEUE_NAMES
  | 'E_STORE_KEY' // a store key cannot be built: an id, round or name that is not one key segment
  | 'E_REDIS_URL' // a Redis URL that cannot be used
  | 'E_REDIS_PREFIX'; // a BullMQ prefix the Redis cannot use (a cluster without a {hash tag})

/** One problem, at a dotted field path (`training.batchSize`, `shards.0.items`). */
export interface FieldIssue {
  /** Dotted path from the document root; '' for the root itself. */
  path: string;
  /** What was expected and what was found, e.g. `expected a positive integer, got -1`. */
  message: string;
  /** 1-based line in the source file, when known. */
  line?: number;
}

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly issues: readonly FieldIssue[];
  /** The file the error is about, if any. */
  readonly file: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, options: { issues?: readonly FieldIssue[]; file?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    this.issues = options.issues ?? [];
    this.file = options.file;
  }
}

/** A run config that cannot be read, parsed or validated. */
export class ConfigError extends ProtocolError {
  constructor(
    code: 'E_CONFIG_READ' | 'E_CONFIG_YAML' | 'E_CONFIG_INVALID' | 'E_SWEEP_INVALID',
    message: string,
    options: { issues?: readonly FieldIssue[]; file?: string; cause?: unknown } = {},
  ) {
    super(code, message, options);
    this.name = 'ConfigError';
  }
}

/** A job payload or result that does not match its queue's schema. */
export class PayloadError extends ProtocolError {
  /** The queue whose schema was applied. */
  readonly queue: string;

  constructor(
    code: 'E_PAYLOAD_INVALID' | 'E_RESULT_INVALID' | 'E_QUEUE_UNKNOWN',
    queue: string,
    message: string,
    issues: readonly FieldIssue[] = [],
  ) {
    super(code, message, { issues });
    this.name = 'PayloadError';
    this.queue = queue;
  }
}

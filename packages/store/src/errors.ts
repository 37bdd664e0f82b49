/**
 * Errors raised by @pmamba/store. Each carries a stable `code` and, when it is about one
 * object, the `key` (relative to the store's prefix) so callers can report or retry precisely.
 */

export type StoreErrorCode =
  | 'E_STORE_URL' // the store URL is malformed or uses an unknown scheme
  | 'E_STORE_KEY' // a key or prefix is invalid or would leave the store's prefix
  | 'E_NOT_FOUND' // no object under this key
  | 'E_HASH_MISMATCH' // the bytes read do not match the sha256 recorded when written
  | 'E_HASH_MISSING' // the object has no recorded sha256 (not written by this store)
  | 'E_ACCESS_DENIED' // credentials are missing, wrong or not allowed to do this
  | 'E_BUCKET_NOT_FOUND' // the S3 bucket does not exist
  | 'E_STORE_UNAVAILABLE' // transient failures persisted through every retry
  | 'E_STORE_REQUEST' // the server refused the request for another reason
  | 'E_STORE_IO' // a local file-system operation failed
  | 'E_STORE_JSON' // an object read as JSON is not valid JSON
  | 'E_MANIFEST'; // a manifest is malformed or lists a missing object

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** The key the error is about, relative to the store's prefix. */
  readonly key: string | undefined;

  constructor(code: StoreErrorCode, message: string, key?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
    this.key = key;
  }
}

/** Read bytes whose sha256 differs from the one recorded at write time. */
export class HashMismatchError extends StoreError {
  readonly expected: string;
  readonly actual: string;

  constructor(key: string, where: string, expected: string, actual: string) {
    super(
      'E_HASH_MISMATCH',
      `object "${key}" in ${where} is corrupt: its sha256 is ${actual} but ${expected} was recorded ` +
        'when it was written; rewrite it (re-run the job that produced it) or restore it from a copy',
      key,
    );
    this.name = 'HashMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}

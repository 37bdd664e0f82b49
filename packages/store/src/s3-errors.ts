/**
 * Which S3 failures are worth retrying, and how the rest read as StoreErrors. Retrying is for
 * what time can fix — dropped connections, timeouts, 5xx, throttling — never for a 4xx answer
 * such as NoSuchKey or AccessDenied, which would only delay the same error.
 */
import { StoreError } from './errors.ts';

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
  cause?: unknown;
}

const THROTTLING_OR_TIMEOUT = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'InternalError',
  'ServiceUnavailable',
]);

/** Network failures that a restarted or briefly unreachable server produces. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);

function asSdkError(err: unknown): SdkLikeError {
  return typeof err === 'object' && err !== null ? (err as SdkLikeError) : {};
}

function networkCode(err: SdkLikeError): string | undefined {
  for (let e: SdkLikeError | undefined = err, depth = 0; e && depth < 4; e = asSdkError(e.cause), depth++) {
    if (e.code && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** True for errors a retry may fix. */
export function isTransientS3Error(err: unknown): boolean {
  const e = asSdkError(err);
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) {
    if (status >= 500 || status === 429 || status === 408) return true;
    if (status >= 400) return false;
  }
  if (e.name && THROTTLING_OR_TIMEOUT.has(e.name)) return true;
  if (networkCode(e)) return true;
  return e.$retryable !== undefined && e.$retryable !== false;
}

/** Turns an SDK error into a StoreError that names the key, the store and what to do. */
export function s3StoreError(err: unknown, key: string | undefined, action: string, where: string, attempts: number): StoreError {
  if (err instanceof StoreError) return err;
  const e = asSdkError(err);
  const status = e.$metadata?.httpStatusCode;
  const what = key === undefined ? where : `"${key}" in ${where}`;
  const detail = e.message || e.name || String(err);
  const options = { cause: err };
  if (e.name === 'NoSuchKey' || (status === 404 && e.name === 'NotFound')) {
    return new StoreError('E_NOT_FOUND', `no object ${what}`, key, options);
  }
  if (e.name === 'NoSuchBucket') {
    return new StoreError('E_BUCKET_NOT_FOUND', `cannot ${action} ${what}: the bucket does not exist; create it or fix the store URL`, key, options);
  }
  if (status === 403 || (e.name && ACCESS_DENIED.has(e.name))) {
    return new StoreError(
      'E_ACCESS_DENIED',
      `cannot ${action} ${what}: access denied (${detail}); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE and the bucket policy`,
      key,
      options,
    );
  }
  if (isTransientS3Error(err)) {
    return new StoreError(
      'E_STORE_UNAVAILABLE',
      `cannot ${action} ${what}: still failing after ${attempts} attempt(s) (${networkCode(e) ?? e.name ?? 'error'}: ${detail}); ` +
        'check S3_ENDPOINT and that the server is reachable',
      key,
      options,
    );
  }
  return new StoreError('E_STORE_REQUEST', `cannot ${action} ${what}: ${e.name ?? 'error'}: ${detail}`, key, options);
}

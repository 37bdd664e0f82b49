import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, withRetry, type RetryEvent } from '../src/retry.ts';
import { isTransientS3Error } from '../src/s3-errors.ts';

const transient = (err: unknown) => (err as Error).message === 'transient';

describe('retry with backoff', () => {
  it('doubles the delay up to the cap, with jitter in the upper half', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100, 500, () => 0)), [50, 100, 200, 250, 250]);
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100, 500, () => 1)), [100, 200, 400, 500, 500]);
  });

  it('retries transient errors until success', async () => {
    const events: RetryEvent[] = [];
    let calls = 0;
    const value = await withRetry(
      async (attempt) => {
        calls++;
        if (attempt < 3) throw new Error('transient');
        return 'done';
      },
      transient,
      { attempts: 5, baseDelayMs: 1, onRetry: (e) => events.push(e) },
    );
    assert.equal(value, 'done');
    assert.equal(calls, 3);
    assert.deepEqual(events.map((e) => e.attempt), [1, 2]);
  });

  it('stops after the configured attempts and rethrows the last error', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw new Error('transient');
      }, transient, { attempts: 4, baseDelayMs: 1 }),
      /transient/,
    );
    assert.equal(calls, 4);
  });

  it('does not retry permanent errors', async () => {
    let calls = 0;
    await assert.rejects(
      withRetry(async () => {
        calls++;
        throw new Error('permanent');
      }, transient, { attempts: 10, baseDelayMs: 1000 }),
      /permanent/,
    );
    assert.equal(calls, 1);
  });
});

describe('S3 error classification', () => {
  const sdk = (name: string, status?: number, extra: object = {}) =>
    Object.assign(new Error(name), { name, $metadata: status === undefined ? {} : { httpStatusCode: status }, ...extra });

  it('retries network errors, timeouts, 5xx and throttling', () => {
    for (const err of [
      sdk('InternalError', 500),
      sdk('ServiceUnavailable', 503),
      sdk('SlowDown', 503),
      sdk('TooManyRequestsException', 429),
      sdk('TimeoutError', undefined, { code: 'ECONNRESET' }),
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('wrapped'), { cause: Object.assign(new Error('inner'), { code: 'ETIMEDOUT' }) }),
    ]) {
      assert.equal(isTransientS3Error(err), true, (err as Error).name);
    }
  });

  it('does not retry 4xx answers', () => {
    for (const err of [sdk('NoSuchKey', 404), sdk('NotFound', 404), sdk('NoSuchBucket', 404), sdk('AccessDenied', 403), sdk('InvalidArgument', 400)]) {
      assert.equal(isTransientS3Error(err), false, (err as Error).name);
    }
    assert.equal(isTransientS3Error(new Error('bug')), false);
  });
});

/**
 * Retries with exponential backoff and jitter. Only errors the caller calls transient are
 * retried; everything else (a missing key, denied access, a corrupt object) fails at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryOptions {
  /** Tries in total, the first included; 1 disables retrying. Default: 5. */
  attempts?: number;
  /** Delay before the first retry in ms; it doubles on each further retry. Default: 200. */
  baseDelayMs?: number;
  /** Upper bound of a single delay in ms. Default: 5000. */
  maxDelayMs?: number;
  /** Called before each retry's delay, e.g. to log it. Default: none. */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  /** The try that failed, 1-based. */
  attempt: number;
  /** How long the next try waits, ms. */
  delayMs: number;
  error: unknown;
}

export const DEFAULT_RETRY = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 } as const;

/**
 * Delay before retry `n` (1-based): half of min(max, base·2^(n−1)) plus a random share of the
 * other half, so concurrent clients spread out but every wait has a known lower bound.
 */
export function backoffDelay(n: number, baseDelayMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Runs `fn` until it succeeds, fails with a non-transient error, or runs out of attempts. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  isTransient: (error: unknown) => boolean,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.attempts ?? DEFAULT_RETRY.attempts));
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      const delayMs = backoffDelay(attempt, base, max);
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}

/**
 * One retry helper: jittered exponential backoff with a cap, an attempt limit and a
 * deadline, an injectable clock so tests run in virtual time (modelled on kafkajs
 * `src/retry/index.js`, with "full jitter" from
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 *
 * Only retriable failures are retried (see `isRetriable`); a `TransientError` that
 * carries `retryAfterMs` (HTTP 429 / 503 Retry-After) waits at least that long.
 */
import { ERROR_CODES, TransientError, isRetriable as defaultIsRetriable } from '../errors/index.js';

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RetryOptions {
  /** Attempts after the first one; Infinity for "until the deadline". */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Total time budget from the first attempt; the last wait never overshoots it. */
  deadlineMs: number;
  clock: Clock;
  /** Returns a number in [0, 1); injectable for deterministic tests. */
  random: () => number;
  isRetriable: (err: unknown) => boolean;
  onRetry?: (info: RetryInfo) => void;
  signal?: AbortSignal;
}

export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: unknown;
}

export const DEFAULT_RETRY: RetryOptions = {
  retries: 5,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  factor: 2,
  deadlineMs: 60_000,
  clock: systemClock,
  random: Math.random,
  isRetriable: defaultIsRetriable,
};

/** The wait before retry number `attempt` (1-based): full jitter over an exponential, capped ceiling. */
export function backoffDelay(attempt: number, options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'random'>): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** (attempt - 1));
  // Never less than half the ceiling: pure full jitter can retry a struggling peer immediately.
  return Math.round(ceiling / 2 + options.random() * (ceiling / 2));
}

function retryAfterOf(err: unknown): number {
  return err instanceof TransientError && err.retryAfterMs !== undefined ? err.retryAfterMs : 0;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, overrides: Partial<RetryOptions> = {}): Promise<T> {
  const options = { ...DEFAULT_RETRY, ...overrides };
  const startedAt = options.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!options.isRetriable(error) || attempt > options.retries) throw error;
      const remaining = options.deadlineMs - (options.clock.now() - startedAt);
      const delayMs = Math.max(backoffDelay(attempt, options), retryAfterOf(error));
      if (delayMs >= remaining) {
        throw new TransientError(`Gave up after ${attempt} attempt(s): deadline of ${options.deadlineMs} ms reached`, {
          code: ERROR_CODES.DEADLINE_EXCEEDED,
          context: { attempts: attempt, deadlineMs: options.deadlineMs },
          cause: error,
        });
      }
      options.onRetry?.({ attempt, delayMs, error });
      await options.clock.sleep(delayMs, options.signal);
    }
  }
}

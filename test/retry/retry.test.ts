import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PermanentError, TransientError } from '../../src/errors/index.js';
import { backoffDelay, retry, type Clock } from '../../src/retry/index.js';

/** Virtual time: sleeping advances the clock instantly and records the wait. */
function virtualClock(): Clock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  };
}

const transient = () => new TransientError('down', { code: ERROR_CODES.ACME_UNAVAILABLE });

describe('retry', () => {
  it('retries transient failures with growing, capped, jittered waits and returns the first success', async () => {
    const clock = virtualClock();
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 6) throw transient();
        return 'ok';
      },
      { clock, retries: 10, initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, deadlineMs: 60_000, random: () => 0.5 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(6);
    // ceilings 100, 200, 400, 800, 1000 (capped); each wait is in [ceiling/2, ceiling].
    expect(clock.waits).toEqual([75, 150, 300, 600, 750]);
  });

  it('stays within [ceiling/2, ceiling] whatever the random source says', () => {
    for (const r of [0, 0.25, 0.999]) {
      for (let attempt = 1; attempt <= 12; attempt++) {
        const ceiling = Math.min(5_000, 50 * 2 ** (attempt - 1));
        const d = backoffDelay(attempt, { initialDelayMs: 50, maxDelayMs: 5_000, factor: 2, random: () => r });
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('does not retry permanent errors or programmer errors', async () => {
    for (const error of [new PermanentError('bad data'), new TypeError('undefined is not a function')]) {
      const clock = virtualClock();
      let calls = 0;
      await expect(
        retry(async () => {
          calls++;
          throw error;
        }, { clock }),
      ).rejects.toBe(error);
      expect(calls).toBe(1);
      expect(clock.waits).toEqual([]);
    }
  });

  it('gives up after the attempt limit with the last error', async () => {
    const clock = virtualClock();
    let calls = 0;
    const last = transient();
    await expect(
      retry(async () => {
        calls++;
        throw last;
      }, { clock, retries: 3, deadlineMs: 1e9 }),
    ).rejects.toBe(last);
    expect(calls).toBe(4);
  });

  it('gives up before a wait would cross the deadline, saying so and keeping the cause', async () => {
    const clock = virtualClock();
    const err = await retry(async () => {
      throw transient();
    }, { clock, retries: Infinity, initialDelayMs: 1_000, maxDelayMs: 10_000, deadlineMs: 5_000, random: () => 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ERROR_CODES.DEADLINE_EXCEEDED, retriable: true });
    expect((err as Error).cause).toBeInstanceOf(TransientError);
    expect(clock.now()).toBeLessThanOrEqual(5_000);
  });

  it('waits at least as long as the peer asked (Retry-After)', async () => {
    const clock = virtualClock();
    let calls = 0;
    await retry(
      async () => {
        if (calls++ === 0) throw new TransientError('429', { code: ERROR_CODES.ACME_RATE_LIMITED, retryAfterMs: 7_000 });
      },
      { clock, initialDelayMs: 10, random: () => 0 },
    );
    expect(clock.waits).toEqual([7_000]);
  });

  it('reports each retry to the caller', async () => {
    const clock = virtualClock();
    const seen: number[] = [];
    let calls = 0;
    await retry(
      async () => {
        if (calls++ < 2) throw transient();
      },
      { clock, onRetry: ({ attempt }) => seen.push(attempt) },
    );
    expect(seen).toEqual([1, 2]);
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const pending = retry(async () => {
      throw transient();
    }, { retries: 5, initialDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: 1e9, signal: controller.signal });
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
  });
});

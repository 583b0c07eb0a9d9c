/**
 * The rate budget's rule, generated (issue 17): after any answer from Acme, history work
 * spends a token only while the bucket — Acme's `X-RateLimit-Remaining` plus the refill
 * since — keeps more than the live reserve, never before a 429's `Retry-After` ran out,
 * and it does go once the bucket has refilled.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRateBudget } from '../../src/acme/rate-budget.js';

function answer(status: number, headers: Record<string, string>) {
  return { status, headers: new Headers(headers) };
}

/** A budget on a fake clock; each sleep moves the clock and is recorded. */
function fakeBudget(fraction: number) {
  let clock = 1_000_000;
  const slept: number[] = [];
  const budget = createRateBudget({
    liveReserveFraction: fraction, now: () => clock,
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
  });
  return { budget, slept, now: () => clock };
}

describe('the rate budget', () => {
  it('lets history spend a token at once exactly when the bucket holds the live reserve and one more (capped at the capacity)', () => {
    fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 500 }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 30 }),
      async (limit, fraction, fill, reset) => {
        const remaining = Math.floor(limit * fill);
        const { budget, slept } = fakeBudget(fraction);
        budget.observe('t', answer(200, { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset': String(remaining < limit ? reset : 0) }));
        await budget.forHistory('t');
        const need = Math.min(limit, Math.ceil(limit * fraction) + 1);
        expect(slept.length === 0).toBe(remaining >= need);
      },
    ), { numRuns: 300 });
  });

  it('waits until the refill (estimated from Acme\'s headers) brought the bucket above the reserve, and never before Retry-After', () => {
    fc.assert(fc.asyncProperty(
      fc.integer({ min: 2, max: 200 }), fc.double({ min: 0.1, max: 0.9, noNaN: true }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 10 }),
      async (limit, fraction, reset, retryAfter) => {
        const { budget, now } = fakeBudget(fraction);
        const started = now();
        budget.observe('t', answer(429, { 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset), 'retry-after': String(retryAfter) }));
        await budget.forHistory('t');
        const waited = now() - started;
        expect(waited).toBeGreaterThanOrEqual(retryAfter * 1000);
        // The refill rate is at least limit/reset per second (Acme rounds reset up): the reserve and one token are back by then.
        const rate = limit / reset;
        const need = Math.min(limit, Math.ceil(limit * fraction) + 1);
        expect(waited).toBeGreaterThanOrEqual(Math.floor((need / rate) * 1000) - 1);
        expect(waited).toBeLessThanOrEqual(Math.max(retryAfter * 1000, (need / rate) * 1000) + 1_001);
      },
    ), { numRuns: 300 });
  });

  it('lets history go for a tenant Acme has said nothing about yet (its first answer will)', async () => {
    const { budget, slept } = fakeBudget(0.5);
    await budget.forHistory('unknown');
    expect(slept).toEqual([]);
  });
});

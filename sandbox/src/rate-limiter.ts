// Token bucket per account. Each account may override the sandbox-wide default.

import type { Clock } from './clock.js';
import type { RateLimitConfig } from './types.js';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until one token is available (only meaningful when not allowed). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  take(accountId: string, config: RateLimitConfig): RateDecision;
  reset(): void;
}

interface Bucket { tokens: number; at: number; capacity: number }

export function createRateLimiter(clock: Clock): RateLimiter {
  let buckets = new Map<string, Bucket>();

  const refill = (b: Bucket, cfg: RateLimitConfig, now: number): void => {
    b.tokens = Math.min(cfg.capacity, b.tokens + ((now - b.at) / 1000) * cfg.refillPerSecond);
    b.at = now;
  };

  return {
    take(accountId, cfg) {
      const now = clock.now();
      let b = buckets.get(accountId);
      // A changed capacity starts a fresh bucket so tests see the new limit at once.
      if (!b || b.capacity !== cfg.capacity) {
        b = { tokens: cfg.capacity, at: now, capacity: cfg.capacity };
        buckets.set(accountId, b);
      }
      refill(b, cfg, now);
      const allowed = b.tokens >= 1;
      if (allowed) b.tokens -= 1;
      const rate = Math.max(cfg.refillPerSecond, 1e-9);
      return {
        allowed,
        limit: cfg.capacity,
        remaining: Math.floor(b.tokens),
        resetSeconds: Math.ceil((cfg.capacity - b.tokens) / rate),
        retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / rate)),
      };
    },
    reset() {
      buckets = new Map();
    },
  };
}

// What route modules need from the sandbox, plus request decorations.

import type { Auth, Principal } from '../auth.js';
import type { Clock } from '../clock.js';
import type { Faults } from '../faults.js';
import type { Idempotency } from '../idempotency.js';
import type { RateLimiter } from '../rate-limiter.js';
import type { Store } from '../store.js';
import type { RateLimitConfig } from '../types.js';
import type { Dispatcher } from '../webhooks/dispatcher.js';
import type { Subscriptions } from '../webhooks/subscriptions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface SandboxContext {
  clock: Clock;
  store: Store;
  auth: Auth;
  faults: Faults;
  idempotency: Idempotency;
  rateLimiter: RateLimiter;
  subscriptions: Subscriptions;
  dispatcher: Dispatcher;
  defaultRateLimit: RateLimitConfig | null;
  secretGraceSeconds: number;
}

/**
 * Acme's rate budget shared fairly between live work and history (issue 17).
 *
 * Acme limits each account with a token bucket and says where it stands on every answer:
 * `X-RateLimit-Limit` (capacity), `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds
 * until full), and `429` + `Retry-After` when empty (schemas/acme-openapi.yaml, "Rate
 * limits"). A backfill that reads as fast as Acme answers empties the bucket, and then
 * every live call of the tenant — the edge's thin-payload fetch for a webhook, an
 * incremental poll, the consumers' enrichment, most of them in other processes — meets
 * a 429 and waits behind the history.
 *
 * History work (backfill pages, reconciliation) therefore asks this budget first: it
 * goes only while the bucket, estimated from Acme's last answer plus the refill since
 * (rate = (limit − remaining) / reset), holds more than a reserve kept for live work
 * (ACME_LIVE_RESERVE_FRACTION of the capacity), and never before a `Retry-After` ran
 * out. Live calls never wait here. Because the estimate comes from Acme's own headers,
 * the reserve also protects live calls made by other processes: their tokens are gone
 * from `remaining` at our next answer. So the backfill takes the refill live work leaves
 * over, and adapts to 429s without starving live fetches.
 */
import type { AcmeClient } from './client.js';
import { counter, type Registry } from '../metrics/index.js';
import promClient from 'prom-client';
import { systemClock } from '../retry/index.js';
import { retryAfterMs as retryAfterHeaderMs } from './http.js';

/** `Retry-After` in ms (delta seconds or an HTTP date, RFC 9110 §10.2.3); 1 s when Acme did not say. */
const retryAfterMs = (headers: Headers, now: number): number => retryAfterHeaderMs(headers, now) ?? 1_000;

export interface RateAnswer {
  status: number;
  headers: Headers;
}

export interface RateBudget {
  /** What Acme said about the tenant's bucket (every answer, live or history). */
  observe(tenantId: string, answer: RateAnswer): void;
  /** Resolves when history work of the tenant may spend a token; rejects when `signal` aborts. */
  forHistory(tenantId: string, signal?: AbortSignal): Promise<void>;
}

export interface RateBudgetOptions {
  /** Share of the bucket's capacity history work leaves for live work (0 ≤ f < 1). */
  liveReserveFraction: number;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  metrics?: Registry;
  /** Longest single wait before the estimate is looked at again (answers may have arrived meanwhile). */
  maxWaitStepMs?: number;
}

interface Bucket {
  limit: number;
  remaining: number;
  /** Tokens per second; undefined until Acme's answers allowed an estimate. */
  rate: number | undefined;
  at: number;
  /** No history call before this (epoch ms): a 429's Retry-After. */
  blockedUntil: number;
}

const num = (headers: Headers, name: string): number | undefined => {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};


export function createRateBudget(options: RateBudgetOptions): RateBudget {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? systemClock.sleep;
  const fraction = Math.min(Math.max(options.liveReserveFraction, 0), 0.99);
  const maxStep = options.maxWaitStepMs ?? 1_000;
  const buckets = new Map<string, Bucket>();
  const registry = options.metrics ?? new promClient.Registry();
  const yields = counter(registry, { name: 'acme_sync_acme_history_yields_total', help: 'Times history work (backfill, reconciliation) waited so live calls keep their share of Acme\'s rate limit' });

  /** Tokens in the bucket now, by Acme's last word plus the refill since. */
  function tokens(b: Bucket, t: number): number {
    if (b.rate === undefined) return b.remaining;
    return Math.min(b.limit, b.remaining + (b.rate * (t - b.at)) / 1000);
  }

  /** How long history must wait before its next call; 0 = go. */
  function waitMs(b: Bucket, t: number): number {
    if (t < b.blockedUntil) return b.blockedUntil - t;
    // The reserve plus our token, but never more than the bucket can hold (a tiny limit would wait forever).
    const need = Math.min(b.limit, Math.ceil(b.limit * fraction) + 1);
    const have = tokens(b, t);
    if (have >= need) return 0;
    // Without a refill estimate, look again soon: the next answer (any call) brings one.
    return b.rate === undefined || b.rate <= 0 ? maxStep : ((need - have) / b.rate) * 1000;
  }

  return {
    observe(tenantId, answer) {
      const t = now();
      const previous = buckets.get(tenantId);
      const limit = num(answer.headers, 'x-ratelimit-limit');
      const remaining = num(answer.headers, 'x-ratelimit-remaining');
      const reset = num(answer.headers, 'x-ratelimit-reset');
      const blockedUntil = answer.status === 429 ? t + retryAfterMs(answer.headers, t) : previous?.blockedUntil ?? 0;
      if (limit === undefined || remaining === undefined || limit <= 0) {
        if (previous) previous.blockedUntil = blockedUntil;
        return;
      }
      // (limit − remaining) / reset is a lower bound of the refill rate (Acme rounds reset up to
      // whole seconds), so the largest estimate seen is the closest safe one.
      const estimate = reset !== undefined && reset > 0 && remaining < limit ? (limit - remaining) / reset : undefined;
      const rate = estimate === undefined ? previous?.rate : Math.max(estimate, previous?.rate ?? 0);
      buckets.set(tenantId, { limit, remaining: answer.status === 429 ? 0 : remaining, rate, at: t, blockedUntil });
    },
    async forHistory(tenantId, signal) {
      for (;;) {
        signal?.throwIfAborted();
        const b = buckets.get(tenantId);
        if (b === undefined) return; // Acme has not told us anything yet: the first answer will.
        const t = now();
        const wait = waitMs(b, t);
        if (wait <= 0) {
          // Spend the token in the estimate at once, so concurrent history calls do not all go on one estimate.
          b.remaining = tokens(b, t) - 1;
          b.at = t;
          return;
        }
        yields.inc();
        await sleep(Math.min(Math.ceil(wait), maxStep), signal);
      }
    },
  };
}

/** The client history work uses: every call first waits for the budget's leave; live calls use the plain client. */
export function historyClient(client: AcmeClient, budget: RateBudget | undefined, signal?: AbortSignal): AcmeClient {
  if (budget === undefined) return client;
  return {
    tenantId: client.tenantId,
    async get(type, id) {
      await budget.forHistory(client.tenantId, signal);
      return client.get(type, id);
    },
    async list(type, q) {
      await budget.forHistory(client.tenantId, signal);
      return client.list(type, q);
    },
    createWebhookSubscription: (input) => client.createWebhookSubscription(input),
    deleteWebhookSubscription: (id) => client.deleteWebhookSubscription(id),
    // Writes are live work (the calendar's edits, issue 15): never held back for history.
    patchAppointment: (...args) => client.patchAppointment(...args),
    deleteAppointment: (...args) => client.deleteAppointment(...args),
  };
}

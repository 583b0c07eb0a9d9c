// Idempotency keys on writes, as Stripe and the IETF draft "The Idempotency-Key HTTP
// Header Field" (draft-ietf-httpapi-idempotency-key-header) describe them:
//   - the first request with a key is executed; its answer is stored for 24 h together
//     with a fingerprint of the request (method, path, If-Match, canonical JSON body);
//   - the same key with the same fingerprint gets the stored answer again
//     (`Idempotent-Replayed: true`), with no second write and no second webhook;
//   - the same key with a different fingerprint is refused with 422
//     `idempotency_key_reused` (the draft's rule: "422 Unprocessable Content");
//   - only answers of requests that reached the write are stored (2xx, 404, 409, 412,
//     422). 400/401/403/429/5xx are not: the client fixes the cause (permissions, a rate
//     limit, an outage) and retries with the same key, which then executes (Stripe: "no
//     idempotent result is saved if the request failed validation or conflicted").
// Keys are scoped to the account. Every request carrying a key is counted (received,
// applied, replayed) so tests can prove that no change was applied twice.

import type { Clock } from './clock.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const STORED_STATUSES = new Set([200, 201, 204, 404, 409, 412, 422]);

export interface StoredAnswer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface KeyStats {
  account_id: string;
  idempotency_key: string;
  method: string;
  path: string;
  /** Requests that carried this key. */
  received: number;
  /** Requests with this key that changed a record. Never more than 1 while the key is valid. */
  applied: number;
  /** Requests answered from the stored answer. */
  replayed: number;
  /** Requests refused because the key came with a different request. */
  mismatched: number;
  last_status: number;
}

interface Entry {
  fingerprint: string;
  answer: StoredAnswer | null;
  storedAt: number;
}

export type Lookup = { kind: 'new' } | { kind: 'replay'; answer: StoredAnswer } | { kind: 'mismatch' };

export interface Idempotency {
  lookup(accountId: string, key: string, fingerprint: string, request: { method: string; path: string }): Lookup;
  /** Record the outcome of an executed request; `applied` when it changed a record. */
  settle(accountId: string, key: string, fingerprint: string, answer: StoredAnswer, applied: boolean): void;
  stats(accountId?: string): KeyStats[];
  reset(): void;
}

/** JSON with sorted object keys, so `{a,b}` and `{b,a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function fingerprintOf(req: { method: string; path: string; ifMatch: string | undefined; body: unknown }): string {
  return `${req.method.toUpperCase()} ${req.path}\n${req.ifMatch ?? ''}\n${canonicalJson(req.body)}`;
}

export function createIdempotency(clock: Clock): Idempotency {
  let entries = new Map<string, Entry>();
  let stats = new Map<string, KeyStats>();
  const id = (accountId: string, key: string) => `${accountId}\u0000${key}`;

  const statsOf = (accountId: string, key: string, request: { method: string; path: string }): KeyStats => {
    let s = stats.get(id(accountId, key));
    if (!s) stats.set(id(accountId, key), (s = { account_id: accountId, idempotency_key: key, method: request.method, path: request.path, received: 0, applied: 0, replayed: 0, mismatched: 0, last_status: 0 }));
    return s;
  };

  return {
    lookup(accountId, key, fingerprint, request) {
      const s = statsOf(accountId, key, request);
      s.received++;
      const entry = entries.get(id(accountId, key));
      if (entry && clock.now() - entry.storedAt > IDEMPOTENCY_TTL_MS) entries.delete(id(accountId, key));
      const live = entries.get(id(accountId, key));
      if (!live?.answer) return { kind: 'new' };
      if (live.fingerprint !== fingerprint) {
        s.mismatched++;
        s.last_status = 422;
        return { kind: 'mismatch' };
      }
      s.replayed++;
      s.last_status = live.answer.status;
      return { kind: 'replay', answer: live.answer };
    },
    settle(accountId, key, fingerprint, answer, applied) {
      const s = stats.get(id(accountId, key));
      if (s) {
        s.last_status = answer.status;
        if (applied) s.applied++;
      }
      if (STORED_STATUSES.has(answer.status)) entries.set(id(accountId, key), { fingerprint, answer, storedAt: clock.now() });
    },
    stats: (accountId) => [...stats.values()].filter((s) => accountId === undefined || s.account_id === accountId).map((s) => ({ ...s })),
    reset() {
      entries = new Map();
      stats = new Map();
    },
  };
}

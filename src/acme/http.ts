/**
 * What every call to Acme shares: one exchange through the outbound client (allow-list,
 * address checks, no redirects, timeouts and size caps: outbound.ts), reading the JSON
 * body, and turning an answer into a classified error (the contract's
 * `{ error: { code, message } }` or RFC 6749's `{ error, error_description }`).
 *
 * Error messages are fixed texts per class plus our reference (`ref acr_...`): they reach
 * tenants (admin API answers, backfill status, settings page, DLQ listing), so they never
 * carry upstream bytes or socket-level detail (a tenant could otherwise read internal
 * services' replies, or scan ports by the difference between error texts). The detail is
 * logged with the same reference (`logAcmeFailure`).
 */
import { ERROR_CODES, PermanentError, TransientError, type ErrorCode, type Stage } from '../errors/index.js';
import type { Logger } from '../logger.js';
import { ACME_PUBLIC_TEXT, type AcmeOutbound } from './outbound.js';

export { ACME_PUBLIC_TEXT };

export type FetchLike = typeof fetch;

/** Credential-shaped substrings (API keys, tokens, client and webhook secrets) never reach a message. */
const CREDENTIAL = /\b(ak|at|rt|cs|whsec)_[A-Za-z0-9+/=_-]+/g;
export function scrub(text: string): string {
  return text.replace(CREDENTIAL, '$1_[redacted]');
}

export interface AcmeAnswer {
  status: number;
  headers: Headers;
  body: unknown;
  ref: string;
}

/** One HTTP exchange through the outbound client; the body parsed as JSON when it is JSON. */
export async function send(outbound: AcmeOutbound, url: string, init: { method: string; headers?: Record<string, string>; body?: string }, timeoutMs: number, stage: Stage, what: string): Promise<AcmeAnswer> {
  const answer = await outbound.request(url, init, { timeoutMs, stage, what });
  let body: unknown = undefined;
  if (answer.text !== '') {
    try {
      body = JSON.parse(answer.text);
    } catch {
      body = answer.text;
    }
  }
  return { status: answer.status, headers: answer.headers, body, ref: answer.ref };
}

/** `Retry-After` as milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Acme's error code and message from either error shape, scrubbed — for our logs only. */
export function describeAcmeError(body: unknown): { code: string; message: string } {
  if (body !== null && typeof body === 'object') {
    const b = body as { error?: unknown; error_description?: unknown };
    if (b.error !== null && typeof b.error === 'object') {
      const e = b.error as { code?: unknown; message?: unknown };
      return { code: scrub(String(e.code ?? 'unknown')).slice(0, 100), message: scrub(String(e.message ?? '')).slice(0, 300) };
    }
    if (typeof b.error === 'string') return { code: scrub(b.error).slice(0, 100), message: scrub(String(b.error_description ?? '')).slice(0, 300) };
  }
  return { code: 'unknown', message: typeof body === 'string' ? scrub(body.slice(0, 200)) : '' };
}

/** Acme's own code when it is one of the contract's identifiers; anything else is not repeated. */
const ACME_CODE = /^[a-z][a-z0-9_.]{0,60}$/;

export interface Classified {
  error: PermanentError | TransientError;
  outcome: 'not_found' | 'rate_limited' | 'server_error' | 'auth_failed' | 'client_error';
}

/** Log what Acme answered (scrubbed, truncated) under the reference the tenant sees. */
export function logAcmeFailure(log: Logger | undefined, answer: AcmeAnswer, what: string, extra: Record<string, unknown> = {}): void {
  const { code, message } = describeAcmeError(answer.body);
  log?.warn({ ref: answer.ref, operation: what, status: answer.status, acmeCode: code, acmeMessage: message, ...extra }, 'Acme answered with an error');
}

/** A non-2xx answer as an error with a stable code and a fixed message: 429/5xx wait, everything else does not. */
export function classify(answer: AcmeAnswer, what: string, stage: Stage, now: number): Classified {
  const code = describeAcmeError(answer.body).code;
  const context = { operation: what, status: answer.status, acmeCode: ACME_CODE.test(code) ? code : 'other', ref: answer.ref };
  const text = (t: string) => `${t} (${what} ${answer.status}, ref ${answer.ref})`;
  const permanent = (c: ErrorCode, t: string) => new PermanentError(text(t), { code: c, stage, context });
  if (answer.status === 429) {
    return { outcome: 'rate_limited', error: new TransientError(text(ACME_PUBLIC_TEXT.rateLimited), { code: ERROR_CODES.ACME_RATE_LIMITED, stage, context, retryAfterMs: retryAfterMs(answer.headers, now) ?? 1000 }) };
  }
  if (answer.status >= 500) {
    return { outcome: 'server_error', error: new TransientError(text(ACME_PUBLIC_TEXT.error), { code: ERROR_CODES.ACME_UNAVAILABLE, stage, context, retryAfterMs: retryAfterMs(answer.headers, now) }) };
  }
  if (answer.status === 404) return { outcome: 'not_found', error: permanent(ERROR_CODES.ACME_NOT_FOUND, ACME_PUBLIC_TEXT.error) };
  if (answer.status === 401 || answer.status === 403) return { outcome: 'auth_failed', error: permanent(ERROR_CODES.ACME_AUTH_FAILED, ACME_PUBLIC_TEXT.credentials) };
  return { outcome: 'client_error', error: permanent(ERROR_CODES.ACME_BAD_RESPONSE, ACME_PUBLIC_TEXT.error) };
}

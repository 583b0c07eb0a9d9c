/**
 * What every call to Acme shares: a per-request timeout, reading the JSON body, turning
 * an answer into a classified error (the contract's `{ error: { code, message } }` or
 * RFC 6749's `{ error, error_description }`), and keeping credentials out of messages.
 */
import { ERROR_CODES, PermanentError, TransientError, type ErrorCode, type Stage } from '../errors/index.js';

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
}

/** One HTTP exchange with a timeout; network failures and timeouts become ACME_UNAVAILABLE. */
export async function send(fetchFn: FetchLike, url: string, init: RequestInit, timeoutMs: number, stage: Stage, what: string): Promise<AcmeAnswer> {
  let res: Response;
  try {
    res = await fetchFn(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    const reason = timedOut ? `no answer within ${timeoutMs} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}`;
    throw new TransientError(`Acme ${what}: ${scrub(reason)}`, {
      code: ERROR_CODES.ACME_UNAVAILABLE, stage, context: { operation: what, timeout: timedOut },
    });
  }
  const text = await res.text().catch(() => '');
  let body: unknown = undefined;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, headers: res.headers, body };
}

/** `Retry-After` as milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const raw = headers.get('retry-after');
  if (raw === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw.trim())) return Math.round(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Acme's error code and message from either error shape, scrubbed. */
export function describeAcmeError(body: unknown): { code: string; message: string } {
  if (body !== null && typeof body === 'object') {
    const b = body as { error?: unknown; error_description?: unknown };
    if (b.error !== null && typeof b.error === 'object') {
      const e = b.error as { code?: unknown; message?: unknown };
      return { code: String(e.code ?? 'unknown'), message: scrub(String(e.message ?? '')) };
    }
    if (typeof b.error === 'string') return { code: b.error, message: scrub(String(b.error_description ?? '')) };
  }
  return { code: 'unknown', message: typeof body === 'string' ? scrub(body.slice(0, 200)) : '' };
}

export interface Classified {
  error: PermanentError | TransientError;
  outcome: 'not_found' | 'rate_limited' | 'server_error' | 'auth_failed' | 'client_error';
}

/** A non-2xx answer as an error with a stable code: 429/5xx wait, everything else does not. */
export function classify(answer: AcmeAnswer, what: string, stage: Stage, now: number): Classified {
  const { code, message } = describeAcmeError(answer.body);
  const text = `Acme ${what} answered ${answer.status} ${code}${message ? `: ${message}` : ''}`;
  const context = { operation: what, status: answer.status, acmeCode: code };
  const permanent = (c: ErrorCode) => new PermanentError(text, { code: c, stage, context });
  if (answer.status === 429) {
    return { outcome: 'rate_limited', error: new TransientError(text, { code: ERROR_CODES.ACME_RATE_LIMITED, stage, context, retryAfterMs: retryAfterMs(answer.headers, now) ?? 1000 }) };
  }
  if (answer.status >= 500) {
    return { outcome: 'server_error', error: new TransientError(text, { code: ERROR_CODES.ACME_UNAVAILABLE, stage, context, retryAfterMs: retryAfterMs(answer.headers, now) }) };
  }
  if (answer.status === 404) return { outcome: 'not_found', error: permanent(ERROR_CODES.ACME_NOT_FOUND) };
  if (answer.status === 401 || answer.status === 403) return { outcome: 'auth_failed', error: permanent(ERROR_CODES.ACME_AUTH_FAILED) };
  return { outcome: 'client_error', error: permanent(ERROR_CODES.ACME_BAD_RESPONSE) };
}

/**
 * Errors → HTTP answers for the edge, in one table keyed by the stable error codes.
 *
 * Acme retries every non-2xx answer, so the split that matters is: 2xx only once the
 * event is durable in Kafka; 503 + Retry-After when waiting can help (Kafka, Acme or
 * PostgreSQL unavailable: nothing was published, the retry will deliver it); 4xx when
 * the request itself is wrong. Answers never carry secrets, and a 401 never says which
 * secret or which check failed. 5xx answers carry no internal detail either.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { AcmeSyncError, ERROR_CODES, TransientError, isRetriable, type ErrorCode } from '../../errors/index.js';

/**
 * Every code has a deliberate answer (a test holds the table complete): a code added
 * without one would fall back to 500, which reads as our bug and pages nobody useful.
 */
export const STATUS: Readonly<Record<ErrorCode, number>> = {
  [ERROR_CODES.VALIDATION_FAILED]: 400,
  [ERROR_CODES.DECODE_FAILED]: 400,
  [ERROR_CODES.SIGNATURE_INVALID]: 401,
  [ERROR_CODES.UNKNOWN_TENANT]: 404,
  [ERROR_CODES.TENANT_PAUSED]: 409,
  [ERROR_CODES.TENANT_CONFLICT]: 409,
  [ERROR_CODES.PAYLOAD_TOO_LARGE]: 413,
  [ERROR_CODES.UNSUPPORTED_MEDIA_TYPE]: 415,
  // The object a thin payload names does not exist: retrying will not help, polling reconciles.
  [ERROR_CODES.ACME_NOT_FOUND]: 422,
  [ERROR_CODES.ACME_BAD_RESPONSE]: 502,
  [ERROR_CODES.ACME_UNAVAILABLE]: 503,
  [ERROR_CODES.ACME_RATE_LIMITED]: 503,
  // Our credentials for this tenant are refused: once an operator fixes them, Acme's retry delivers.
  [ERROR_CODES.ACME_AUTH_FAILED]: 503,
  [ERROR_CODES.KAFKA_UNAVAILABLE]: 503,
  // Kafka refused our write for good (a record too large, not authorized): our
  // configuration or our bug, answered as before the port classified it (a raw kafkajs error).
  [ERROR_CODES.KAFKA_REFUSED]: 500,
  [ERROR_CODES.REGISTRY_UNAVAILABLE]: 503,
  [ERROR_CODES.DATABASE_UNAVAILABLE]: 503,
  [ERROR_CODES.DEADLINE_EXCEEDED]: 503,
  // The tenant's Acme URL is refused (outside the allow-list, a non-public address, a
  // redirect: docs/SECURITY.md) or our master keys cannot open its secrets: configuration
  // an operator or the tenant fixes, after which Acme's retry delivers.
  [ERROR_CODES.ACME_ADDRESS_REFUSED]: 503,
  [ERROR_CODES.ACME_REDIRECT]: 503,
  [ERROR_CODES.SECRET_UNREADABLE]: 503,
  [ERROR_CODES.ACME_WRITE_FORBIDDEN]: 503,
  // A record's own fault: retrying the same bytes cannot help (the edge keeps such
  // deliveries in the DLQ and answers 200 before it gets here; these are the fallback).
  [ERROR_CODES.UNKNOWN_CONTACT]: 422,
  [ERROR_CODES.DATABASE_DATA_REJECTED]: 422,
  [ERROR_CODES.DATABASE_CONSTRAINT_VIOLATED]: 422,
  [ERROR_CODES.ACME_VALIDATION_FAILED]: 422,
  [ERROR_CODES.OPERATOR_SKIPPED]: 422,
  [ERROR_CODES.ACME_CONFLICT]: 409,
  // Our bugs and broken deployments: 500, and Acme's retries deliver after the fix.
  [ERROR_CODES.INTERNAL]: 500,
  [ERROR_CODES.CONFIG_INVALID]: 500,
  [ERROR_CODES.DATABASE_QUERY_INVALID]: 500,
  [ERROR_CODES.SCHEMA_INCOMPATIBLE]: 500,
  [ERROR_CODES.STACK_FAILED]: 500,
};

/** Retry-After when the failing side did not say (seconds). */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** The bounded set of webhook outcomes (label values of acme_sync_webhooks_total). */
export const WEBHOOK_OUTCOMES = [
  'accepted', 'duplicate', 'bad_signature', 'stale', 'unknown_tenant', 'paused',
  'malformed', 'too_large', 'unsupported', 'not_found', 'unavailable', 'error',
  // Signed by Acme but never processable (not JSON, breaks the validation contract): kept in the DLQ, answered 200.
  'dead_lettered',
] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

const OUTCOME: Readonly<Partial<Record<ErrorCode, WebhookOutcome>>> = {
  [ERROR_CODES.VALIDATION_FAILED]: 'malformed',
  [ERROR_CODES.DECODE_FAILED]: 'malformed',
  [ERROR_CODES.UNKNOWN_TENANT]: 'unknown_tenant',
  [ERROR_CODES.TENANT_PAUSED]: 'paused',
  [ERROR_CODES.PAYLOAD_TOO_LARGE]: 'too_large',
  [ERROR_CODES.UNSUPPORTED_MEDIA_TYPE]: 'unsupported',
  [ERROR_CODES.ACME_NOT_FOUND]: 'not_found',
};

/** Fastify's own errors (no route, bad media type, ...) carry a 4xx statusCode. */
function frameworkStatus(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

export function httpStatusOf(err: unknown): number {
  if (err instanceof AcmeSyncError) return STATUS[err.code];
  return frameworkStatus(err) ?? (isRetriable(err) ? 503 : 500);
}

export function webhookOutcomeOf(err: unknown): WebhookOutcome {
  if (err instanceof AcmeSyncError) {
    if (err.code === ERROR_CODES.SIGNATURE_INVALID) return err.context.reason === 'stale' ? 'stale' : 'bad_signature';
    const status = httpStatusOf(err);
    // A request's fault without an outcome of its own counts as malformed; `error` is kept for our bugs.
    return OUTCOME[err.code] ?? (status === 503 ? 'unavailable' : status < 500 ? 'malformed' : 'error');
  }
  const status = httpStatusOf(err);
  if (status === 415) return 'unsupported';
  if (status === 413) return 'too_large';
  if (status < 500) return 'malformed';
  return status === 503 ? 'unavailable' : 'error';
}

function retryAfterSeconds(err: unknown): number {
  const ms = err instanceof TransientError ? err.retryAfterMs : undefined;
  return ms === undefined ? DEFAULT_RETRY_AFTER_SECONDS : Math.max(1, Math.ceil(ms / 1000));
}

function publicMessage(err: unknown, status: number): string {
  if (status === 401) return 'Invalid webhook signature';
  if (status === 503) return 'Temporarily unavailable; nothing was accepted, retry later';
  if (status >= 500) return 'Internal error';
  return err instanceof Error ? err.message : String(err);
}

function codeOf(err: unknown, status: number): string {
  if (err instanceof AcmeSyncError) return err.code;
  if (status === 503) return ERROR_CODES.INTERNAL;
  return status < 500 ? ((err as { code?: string })?.code ?? 'BAD_REQUEST') : ERROR_CODES.INTERNAL;
}

/**
 * Answers with `{ error: { code, message } }`. 5xx are logged as errors with the
 * correlation ID (a bug or an outage), 4xx at info (the caller's problem).
 */
export function replyWithError(reply: FastifyReply, err: unknown, log: FastifyBaseLogger, context: Record<string, unknown> = {}): FastifyReply {
  const status = httpStatusOf(err);
  const logged = err instanceof AcmeSyncError ? err.toJSON() : err;
  if (status >= 500) log.error({ ...context, err: logged, status }, 'request failed');
  else log.info({ ...context, code: codeOf(err, status), status }, 'request refused');
  if (status === 503) reply.header('retry-after', String(retryAfterSeconds(err)));
  if (status === 401) reply.header('www-authenticate', 'Standard-Webhooks');
  return reply.code(status).send({ error: { code: codeOf(err, status), message: publicMessage(err, status) } });
}

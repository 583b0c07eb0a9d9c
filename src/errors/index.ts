/**
 * One error module for the whole integration.
 *
 * Every error we raise is an {@link AcmeSyncError}: it has a stable `code` that
 * dashboards, DLQ headers and alert rules can match on, a `retriable` flag that
 * tells the retry helper and the consumers whether waiting can help, and
 * `context` fields that survive JSON logging (modelled on kafkajs' KafkaJSError
 * `retriable` and platformatic/kafka's `GenericError`/`canRetry`).
 *
 * Programmer errors (TypeError, RangeError, ...) are never retriable: retrying a
 * bug only delays the page.
 */

/** The named stages of the pipeline; every failure says where it happened (Kafka Connect's `Stage`). */
export const STAGES = ['config', 'webhook', 'poll', 'decode', 'validate', 'transform', 'enrich', 'sink', 'produce', 'writeback'] as const;
export type Stage = (typeof STAGES)[number];

/** Stable error codes. Add, never rename: they are matched by alerts and stored in DLQ headers. */
export const ERROR_CODES = {
  CONFIG_INVALID: 'CONFIG_INVALID',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  DECODE_FAILED: 'DECODE_FAILED',
  UNKNOWN_TENANT: 'UNKNOWN_TENANT',
  TENANT_PAUSED: 'TENANT_PAUSED',
  SIGNATURE_INVALID: 'SIGNATURE_INVALID',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  ACME_UNAVAILABLE: 'ACME_UNAVAILABLE',
  ACME_RATE_LIMITED: 'ACME_RATE_LIMITED',
  ACME_AUTH_FAILED: 'ACME_AUTH_FAILED',
  ACME_NOT_FOUND: 'ACME_NOT_FOUND',
  ACME_BAD_RESPONSE: 'ACME_BAD_RESPONSE',
  KAFKA_UNAVAILABLE: 'KAFKA_UNAVAILABLE',
  /** Kafka refused a request for good (MESSAGE_TOO_LARGE, authorization, ...): src/kafka/kafkajs/errors.ts. */
  KAFKA_REFUSED: 'KAFKA_REFUSED',
  REGISTRY_UNAVAILABLE: 'REGISTRY_UNAVAILABLE',
  SCHEMA_INCOMPATIBLE: 'SCHEMA_INCOMPATIBLE',
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  SECRET_UNREADABLE: 'SECRET_UNREADABLE',
  TENANT_CONFLICT: 'TENANT_CONFLICT',
  STACK_FAILED: 'STACK_FAILED',
  INTERNAL: 'INTERNAL',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** An Acme URL outside the operator's allow-list, or resolving to a non-public address (docs/SECURITY.md). */
  ACME_ADDRESS_REFUSED: 'ACME_ADDRESS_REFUSED',
  /** Acme answered with a redirect: never followed (docs/SECURITY.md). */
  ACME_REDIRECT: 'ACME_REDIRECT',
  /** A record names a contact Acme does not know (404): bad data, see docs/OPERATIONS.md. */
  UNKNOWN_CONTACT: 'UNKNOWN_CONTACT',
  /** PostgreSQL refused a value (SQLSTATE class 22 data exception): that record's problem. */
  DATABASE_DATA_REJECTED: 'DATABASE_DATA_REJECTED',
  /** PostgreSQL refused a row for an integrity constraint (class 23): that record's problem. */
  DATABASE_CONSTRAINT_VIOLATED: 'DATABASE_CONSTRAINT_VIOLATED',
  /** PostgreSQL refused our SQL (class 42 syntax/undefined object, and others): our bug, stop. */
  DATABASE_QUERY_INVALID: 'DATABASE_QUERY_INVALID',
  /** An operator moved a stuck record to the DLQ with `acme-sync dlq skip`. */
  OPERATOR_SKIPPED: 'OPERATOR_SKIPPED',
  /** A write-back met a newer Acme version (412 on If-Match) or a deleted record (409): issue 15. */
  ACME_CONFLICT: 'ACME_CONFLICT',
  /** Acme refused a write's values (422 validation_failed, with field errors in context). */
  ACME_VALIDATION_FAILED: 'ACME_VALIDATION_FAILED',
  /** Acme refused a write because the tenant's grant lacks the write scope (403). */
  ACME_WRITE_FORBIDDEN: 'ACME_WRITE_FORBIDDEN',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export type ContextValue = string | number | boolean | null | undefined;
export type ErrorContext = Readonly<Record<string, ContextValue>>;

export interface AcmeSyncErrorOptions {
  code: ErrorCode;
  retriable: boolean;
  context?: ErrorContext;
  stage?: Stage;
  cause?: unknown;
}

export class AcmeSyncError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;
  readonly stage: Stage | undefined;

  constructor(message: string, options: AcmeSyncErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retriable = options.retriable;
    this.context = Object.freeze({ ...options.context });
    this.stage = options.stage;
  }

  /** A copy of this error placed at a stage; errors are values, we never mutate a thrown one. */
  atStage(stage: Stage): AcmeSyncError {
    if (this.stage === stage) return this;
    const copy = Object.create(Object.getPrototypeOf(this)) as AcmeSyncError;
    Object.assign(copy, this, { stage });
    Object.defineProperty(copy, 'message', { value: this.message, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(copy, 'stack', { value: this.stack, enumerable: false, writable: true, configurable: true });
    if (this.cause !== undefined) Object.defineProperty(copy, 'cause', { value: this.cause, enumerable: false, writable: true, configurable: true });
    return copy;
  }

  /** What pino and JSON.stringify print: no stack secrets, all context. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      stage: this.stage,
      context: this.context,
      cause: describeCause(this.cause),
    };
  }
}

function describeCause(cause: unknown): unknown {
  if (cause === undefined) return undefined;
  if (cause instanceof AcmeSyncError) return cause.toJSON();
  if (cause instanceof Error) return { name: cause.name, message: cause.message, code: (cause as { code?: unknown }).code };
  return String(cause);
}

type SubclassOptions = Omit<AcmeSyncErrorOptions, 'retriable' | 'code'> & { code?: ErrorCode };

/** Waiting and trying again can help: an outage, a timeout, a rate limit. */
export class TransientError extends AcmeSyncError {
  /** How long the other side asked us to wait (Retry-After), when it said. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: SubclassOptions & { retryAfterMs?: number } = {}) {
    super(message, { ...options, code: options.code ?? ERROR_CODES.INTERNAL, retriable: true });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Trying again gives the same answer: bad data, bad config, an unknown tenant. */
export class PermanentError extends AcmeSyncError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: options.code ?? ERROR_CODES.INTERNAL, retriable: false });
  }
}

export class ConfigError extends PermanentError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.key}: ${i.message}`).join('\n')}`, {
      code: ERROR_CODES.CONFIG_INVALID,
      stage: 'config',
      context: { keys: issues.map((i) => i.key).join(',') },
    });
    this.issues = issues;
  }
}
export interface ConfigIssue {
  key: string;
  message: string;
}

export class ValidationError extends PermanentError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: options.code ?? ERROR_CODES.VALIDATION_FAILED });
  }
}

export class DecodeError extends PermanentError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { ...options, code: ERROR_CODES.DECODE_FAILED, stage: options.stage ?? 'decode' });
  }
}

const PROGRAMMER_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** Node/libuv network failures: the peer may come back. */
const TRANSIENT_SYSCALL_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

/**
 * PostgreSQL SQLSTATE classes, judged at the boundary
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 *  - transient, retrying can succeed: 08 connection exception, 53 insufficient resources,
 *    57 operator intervention (admin shutdown, query canceled), 40 transaction rollback
 *    (serialization failure, deadlock);
 *  - record: 22 data exception (a NUL byte, a timestamp out of range, a value too long)
 *    and 23 integrity constraint violation — caused by one record's values, so that
 *    record goes to the DLQ and the others are written (the runner bisects the batch);
 *  - bug: everything else (42 syntax error or undefined object, ...) — our SQL or our
 *    schema is wrong; the consumer stops rather than drain the topic into the DLQ.
 */
export type SqlStateVerdict = 'transient' | 'record' | 'bug';

const TRANSIENT_SQL_CLASSES = new Set(['08', '53', '57', '40']);
const RECORD_SQL_CLASSES = new Set(['22', '23']);

export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  // Five characters like a SQLSTATE, but not a syscall code that happens to be five (EPIPE).
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !TRANSIENT_SYSCALL_CODES.has(code) ? code : undefined;
}

export function sqlStateVerdict(sqlState: string): SqlStateVerdict {
  const cls = sqlState.slice(0, 2);
  if (TRANSIENT_SQL_CLASSES.has(cls)) return 'transient';
  return RECORD_SQL_CLASSES.has(cls) ? 'record' : 'bug';
}

function isTransientSqlState(code: string): boolean {
  return sqlStateVerdict(code) === 'transient';
}

/** A failure caused by one record's values (SQLSTATE class 22 or 23), wrapped or not. */
export function isRecordFault(err: unknown): boolean {
  if (err instanceof AcmeSyncError) return err.code === ERROR_CODES.DATABASE_DATA_REJECTED || err.code === ERROR_CODES.DATABASE_CONSTRAINT_VIOLATED;
  const state = sqlStateOf(err);
  return state !== undefined && sqlStateVerdict(state) === 'record';
}

/** A PostgreSQL error as an AcmeSyncError with a code that says which kind (never INTERNAL for an outage). */
export function databaseError(err: unknown, stage: Stage = 'sink', context: ErrorContext = {}): AcmeSyncError {
  if (err instanceof AcmeSyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const state = sqlStateOf(err);
  const ctx = { ...context, sqlState: state ?? null };
  if (state === undefined) {
    return isRetriable(err)
      ? new TransientError(`PostgreSQL unavailable: ${message}`, { code: ERROR_CODES.DATABASE_UNAVAILABLE, stage, context: ctx, cause: err })
      : new PermanentError(message, { code: ERROR_CODES.INTERNAL, stage, context: ctx, cause: err });
  }
  switch (sqlStateVerdict(state)) {
    case 'transient':
      return new TransientError(`PostgreSQL unavailable (${state}): ${message}`, { code: ERROR_CODES.DATABASE_UNAVAILABLE, stage, context: ctx, cause: err });
    case 'record':
      return new PermanentError(`PostgreSQL refused the record (${state}): ${message}`, {
        code: state.startsWith('22') ? ERROR_CODES.DATABASE_DATA_REJECTED : ERROR_CODES.DATABASE_CONSTRAINT_VIOLATED, stage, context: ctx, cause: err,
      });
    default:
      return new PermanentError(`PostgreSQL refused our query (${state}): ${message}`, { code: ERROR_CODES.DATABASE_QUERY_INVALID, stage, context: ctx, cause: err });
  }
}

/** Does retrying have a chance? The single source of truth for retry decisions. */
export function isRetriable(err: unknown): boolean {
  if (err instanceof AcmeSyncError) return err.retriable;
  if (!(err instanceof Error)) return false;
  if (PROGRAMMER_ERRORS.some((t) => err instanceof t)) return false;
  const withFlags = err as Error & { retriable?: unknown; code?: unknown; name: string };
  // kafkajs marks its own errors (KafkaJSError#retriable).
  if (typeof withFlags.retriable === 'boolean') return withFlags.retriable;
  const code = typeof withFlags.code === 'string' ? withFlags.code : undefined;
  if (code !== undefined) {
    if (TRANSIENT_SYSCALL_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code)) return isTransientSqlState(code);
  }
  // node-postgres' words for a connection that died under us (no SQLSTATE on these).
  if (/timeout|terminated unexpectedly|Connection terminated|connection error and is not queryable/i.test(err.message)) return true;
  if (err.name === 'AbortError' || err.name === 'TimeoutError') return true;
  return false;
}

/** Wrap anything thrown into an AcmeSyncError, keeping retriability and adding the stage. */
export function toAcmeSyncError(err: unknown, stage: Stage, context: ErrorContext = {}): AcmeSyncError {
  if (err instanceof AcmeSyncError) return err.stage === undefined ? err.atStage(stage) : err;
  if (sqlStateOf(err) !== undefined) return databaseError(err, stage, context);
  const message = err instanceof Error ? err.message : String(err);
  const options = { stage, context, cause: err };
  return isRetriable(err) ? new TransientError(message, options) : new PermanentError(message, options);
}

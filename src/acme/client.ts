/**
 * Acme's REST API for one tenant, with that tenant's credentials (schemas/acme-openapi.yaml).
 *
 * - Auth: the tenant's API key, or its OAuth access token, refreshed shortly before it
 *   expires and once when Acme answers 401. Refresh tokens rotate and are single use, so a
 *   refresh is serialised (in-process single flight; across processes a PostgreSQL advisory
 *   lock when a pool is given) and the new pair is written with a compare-and-set under the
 *   tenant's row lock: when the stored refresh token changed meanwhile, another process has
 *   refreshed and its access token is used instead.
 * - 429 waits `Retry-After` (TransientError ACME_RATE_LIMITED with retryAfterMs); 5xx,
 *   refused connections and timeouts retry with the shared jittered backoff and deadline;
 *   404 is ACME_NOT_FOUND; other 4xx are permanent. Errors never carry credentials nor
 *   upstream bytes: fixed texts and a reference; Acme's answer is logged under it.
 * - Credentials are re-read whenever the tenant's version changed (one indexed read per
 *   call): a new API key, base URL or token written by any process is used by the next
 *   call of every process, instead of a client built once and kept until restart.
 */
import type pg from 'pg';
import type { Config } from '../config/index.js';
import promClient from 'prom-client';
import { ERROR_CODES, PermanentError, TransientError, toAcmeSyncError, type Stage } from '../errors/index.js';
import type { Logger } from '../logger.js';
import { counter, histogram, type Registry } from '../metrics/index.js';
import { retry, systemClock, type Clock, type RetryOptions } from '../retry/index.js';
import type { TenantRepository } from '../tenants/repository.js';
import type { OAuthTokens } from '../tenants/types.js';
import { ACME_PUBLIC_TEXT, classify, logAcmeFailure, send, type AcmeAnswer } from './http.js';
import type { AcmeOutbound } from './outbound.js';
import { refreshAccessToken } from './oauth.js';
import { schemaKey } from '../db/advisory.js';
import { ACME_COLLECTIONS, type AcmeAppointment, type AcmeObjectType, type AcmeObjects, type AcmePage } from './types.js';

export interface ListQuery {
  updatedSince?: string;
  cursor?: string | null;
  limit?: number;
}

export interface AcmeClient {
  readonly tenantId: string;
  /** One object by ID (soft-deleted ones too); 404 → PermanentError ACME_NOT_FOUND. */
  get<T extends AcmeObjectType>(type: T, id: string): Promise<AcmeObjects[T]>;
  /** One page, ordered by (updated_at, id); `updatedSince` is inclusive. */
  list<T extends AcmeObjectType>(type: T, q: ListQuery): Promise<AcmePage<AcmeObjects[T]>>;
  createWebhookSubscription(input: { url: string; eventTypes?: string[] }): Promise<{ id: string; secret: string }>;
  deleteWebhookSubscription(id: string): Promise<void>;
  /**
   * Write-back (issue 15): PATCH /v1/appointments/{id} with `If-Match: "<version>"` (when
   * given) and an `Idempotency-Key`, so a retry after a timeout never applies twice.
   * Permanent errors: ACME_CONFLICT (412 stale version: context.currentVersion; 409
   * deleted: context.reason 'deleted'), ACME_VALIDATION_FAILED (422: context.fieldErrors),
   * ACME_WRITE_FORBIDDEN (403: the grant lacks crm.write), ACME_NOT_FOUND (404).
   * 429/5xx/timeouts are retried here and then thrown as TransientError.
   */
  patchAppointment(id: string, patch: AppointmentPatch, write: WriteOptions): Promise<WriteAck>;
  /** DELETE /v1/appointments/{id}: soft delete, with the same headers and errors as patchAppointment. */
  deleteAppointment(id: string, write: WriteOptions): Promise<WriteAck>;
}

/** The appointment fields a write-back may change (the contract's AppointmentPatch subset). */
export interface AppointmentPatch {
  title?: string;
  starts_at?: string;
  ends_at?: string;
  time_zone?: string;
  location?: string | null;
  status?: 'scheduled' | 'cancelled';
}

export interface WriteOptions {
  idempotencyKey: string;
  /** The version the change was made against (If-Match); absent: unconditional. */
  ifMatchVersion?: number;
}

export interface WriteAck {
  appointment: AcmeAppointment;
  /** Acme answered from its idempotency store: this change had been applied before. */
  replayed: boolean;
}

/** Tenant-visible text when the grant lacks the write scope (fixed: no upstream bytes). */
export const WRITE_SCOPE_TEXT = 'Acme refused the write: the connection lacks the crm.write scope. Reconnect Acme and grant write access, then replay the dead-letter records.';

/** A field error's name and code are identifiers in the contract; anything else is not repeated. */
const FIELD_TOKEN = /^[a-z][a-z0-9_.]{0,60}$/;

/** `field:code` pairs from a 422 `details.field_errors`, bounded, identifiers only. */
export function fieldErrorsOf(body: unknown): string {
  const list = (body as { error?: { details?: { field_errors?: unknown } } } | undefined)?.error?.details?.field_errors;
  if (!Array.isArray(list)) return '';
  return list
    .slice(0, 20)
    .map((f: { field?: unknown; code?: unknown }) => `${FIELD_TOKEN.test(String(f?.field)) ? String(f.field) : 'other'}:${FIELD_TOKEN.test(String(f?.code)) ? String(f.code) : 'other'}`)
    .join(',');
}

export interface AcmeClientOptions {
  tenantId: string;
  tenants: TenantRepository;
  /** Our OAuth client at Acme (needed to refresh OAuth tenants' tokens). */
  clientId?: string;
  clientSecret?: string;
  /** The one outbound HTTP client (allow-list, address checks, no redirects, caps): outbound.ts. */
  outbound: AcmeOutbound;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  retry?: Partial<RetryOptions>;
  /** Serialises token refreshes across processes (advisory lock per tenant). */
  pool?: pg.Pool;
  requestTimeoutMs?: number;
  /** Refresh an access token this long before it expires. */
  refreshBeforeExpiryMs?: number;
  /** Stage of errors from get (thin-payload enrichment) and from the other calls (polling). */
  stages?: { get?: Stage; other?: Stage };
  /** Every answer's status and headers (the rate budget reads Acme's X-RateLimit-*; src/acme/rate-budget.ts). */
  onAnswer?: (tenantId: string, answer: Pick<AcmeAnswer, 'status' | 'headers'>) => void;
}

/** Defaults for calls to Acme: a few quick retries, then give up within a minute. */
export const ACME_RETRY: Partial<RetryOptions> = { retries: 8, initialDelayMs: 200, maxDelayMs: 10_000, deadlineMs: 60_000 };

interface Credentials {
  /** The tenant row's version these were read at: any change of credentials, base URL or secrets bumps it. */
  version: number;
  baseUrl: string;
  token: string;
  oauth?: OAuthTokens;
}

function createAcmeMetrics(registry: Registry) {
  return {
    requests: counter(registry, { name: 'acme_sync_acme_api_requests_total', help: 'Requests to the Acme API by operation and outcome', labelNames: ['operation', 'outcome'] as const }),
    rateLimitWaits: counter(registry, { name: 'acme_sync_acme_api_rate_limit_waits_total', help: 'Times a 429 from Acme made us wait Retry-After' }),
    latency: histogram(registry, { name: 'acme_sync_acme_api_request_duration_seconds', help: 'Latency of Acme API requests', labelNames: ['operation'] as const }),
    refreshes: counter(registry, { name: 'acme_sync_acme_oauth_refreshes_total', help: 'OAuth access-token refreshes by outcome', labelNames: ['outcome'] as const }),
  };
}

export function createAcmeClient(options: AcmeClientOptions): AcmeClient {
  const { tenantId, tenants } = options;
  const clock = options.clock ?? systemClock;
  const { outbound } = options;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const refreshBeforeMs = options.refreshBeforeExpiryMs ?? 60_000;
  const metrics = createAcmeMetrics(options.metrics ?? new promClient.Registry());
  const log = options.logger?.child({ tenantId, component: 'acme-client' });
  let cached: Credentials | undefined;
  let refreshing: Promise<Credentials> | undefined;

  async function load(): Promise<Credentials> {
    const tenant = await tenants.getWithSecrets(tenantId);
    if (!tenant) throw new PermanentError(`Unknown tenant ${tenantId}`, { code: ERROR_CODES.UNKNOWN_TENANT, context: { tenantId } });
    if (tenant.authKind === 'oauth') {
      const oauth = tenant.secrets.oauth;
      if (!oauth) throw new PermanentError(`Tenant ${tenantId} is not connected to Acme (no OAuth tokens)`, { code: ERROR_CODES.ACME_AUTH_FAILED, context: { tenantId } });
      return { version: tenant.version, baseUrl: tenant.acmeBaseUrl, token: oauth.accessToken, oauth };
    }
    if (!tenant.secrets.apiKey) throw new PermanentError(`Tenant ${tenantId} has no Acme API key`, { code: ERROR_CODES.ACME_AUTH_FAILED, context: { tenantId } });
    return { version: tenant.version, baseUrl: tenant.acmeBaseUrl, token: tenant.secrets.apiKey };
  }

  const expiresSoon = (c: Credentials) => c.oauth !== undefined && c.oauth.expiresAt - clock.now() <= refreshBeforeMs;

  async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
    if (!options.pool) return fn();
    const client = await options.pool.connect();
    const key = `acme-sync-oauth-refresh:${tenantId}`;
    try {
      await client.query(`SELECT pg_advisory_lock(${schemaKey('$1')})`, [key]);
      return await fn();
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${schemaKey('$1')})`, [key]).catch(() => undefined);
      client.release();
    }
  }

  /** Refresh unless someone else already did since `used` was read. */
  async function refresh(used: Credentials, reason: 'expiring' | 'rejected'): Promise<Credentials> {
    return withRefreshLock(async () => {
      const stored = await load();
      if (stored.oauth?.refreshToken !== used.oauth?.refreshToken && !expiresSoon(stored)) {
        metrics.refreshes.inc({ outcome: 'already_refreshed' });
        return stored;
      }
      if (!options.clientId || !options.clientSecret) {
        throw new PermanentError('ACME_OAUTH_CLIENT_ID / ACME_OAUTH_CLIENT_SECRET are needed to refresh OAuth tokens', { code: ERROR_CODES.CONFIG_INVALID, context: { tenantId } });
      }
      const grant = await refreshAccessToken({
        baseUrl: stored.baseUrl, clientId: options.clientId, clientSecret: options.clientSecret, refreshToken: stored.oauth!.refreshToken,
        outbound, logger: log, now: clock.now, timeoutMs, stage: options.stages?.other ?? 'poll',
      }).catch(async (err: unknown) => {
        // Without the cross-process lock another process may have rotated the token between
        // our read and our refresh: its access token is then the live one.
        const now = await load().catch(() => stored);
        if (now.oauth?.refreshToken !== stored.oauth!.refreshToken) {
          metrics.refreshes.inc({ outcome: 'lost_race' });
          return undefined;
        }
        metrics.refreshes.inc({ outcome: 'failed' });
        throw err;
      });
      if (grant === undefined) return load();
      let won = true;
      await tenants.updateSecrets(tenantId, (current) => {
        // Compare-and-set: the row lock makes this the only writer; a changed refresh token means another process won.
        if (current.oauth?.refreshToken !== stored.oauth!.refreshToken) {
          won = false;
          return current;
        }
        return { ...current, oauth: grant.tokens };
      });
      metrics.refreshes.inc({ outcome: won ? 'refreshed' : 'lost_race' });
      log?.info({ reason, won }, 'OAuth access token refreshed');
      return load();
    });
  }

  function refreshOnce(used: Credentials, reason: 'expiring' | 'rejected'): Promise<Credentials> {
    refreshing ??= refresh(used, reason).finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function credentials(): Promise<Credentials> {
    const version = await tenants.versionOf(tenantId);
    if (cached === undefined || cached.version !== version) cached = await load();
    if (expiresSoon(cached)) cached = await refreshOnce(cached, 'expiring');
    return cached;
  }

  /** After a 401: a newer credential in the database (rotated key, refreshed token) or a refresh. */
  async function afterRejection(rejected: Credentials): Promise<Credentials | undefined> {
    const stored = await load();
    if (stored.token !== rejected.token) return (cached = stored);
    if (!stored.oauth) return undefined;
    return (cached = await refreshOnce(stored, 'rejected'));
  }

  /** `extra.passThrough`: statuses answered to the caller instead of thrown (a write's 412/409/422/403). */
  async function exchange(operation: string, stage: Stage, method: string, path: string, body?: unknown, extra: { headers?: Record<string, string>; passThrough?: readonly number[] } = {}): Promise<AcmeAnswer> {
    const attempt = async (creds: Credentials): Promise<AcmeAnswer> => {
      const headers: Record<string, string> = { ...extra.headers, authorization: `Bearer ${creds.token}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const started = performance.now();
      try {
        const answer = await send(outbound, new URL(path, creds.baseUrl).toString(), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, timeoutMs, stage, operation);
        options.onAnswer?.(tenantId, answer);
        return answer;
      } finally {
        metrics.latency.observe({ operation }, (performance.now() - started) / 1000);
      }
    };
    const once = async (): Promise<AcmeAnswer> => {
      try {
        const creds = await credentials();
        let answer = await attempt(creds);
        if (answer.status === 401) {
          metrics.requests.inc({ operation, outcome: 'unauthorized' });
          const renewed = await afterRejection(creds);
          if (renewed) answer = await attempt(renewed);
        }
        if (answer.status < 300) {
          metrics.requests.inc({ operation, outcome: 'ok' });
          return answer;
        }
        if (extra.passThrough?.includes(answer.status)) {
          metrics.requests.inc({ operation, outcome: `rejected_${answer.status}` });
          logAcmeFailure(log, answer, operation);
          return answer;
        }
        logAcmeFailure(log, answer, operation);
        const { error, outcome } = classify(answer, operation, stage, clock.now());
        metrics.requests.inc({ operation, outcome });
        throw error;
      } catch (err) {
        const e = toAcmeSyncError(err, stage, { tenantId, operation });
        if (e.code === ERROR_CODES.ACME_UNAVAILABLE && e.context.status === undefined) metrics.requests.inc({ operation, outcome: e.context.timeout ? 'timeout' : 'network_error' });
        if (e.code === ERROR_CODES.ACME_ADDRESS_REFUSED) metrics.requests.inc({ operation, outcome: 'address_refused' });
        if (e.code === ERROR_CODES.ACME_REDIRECT) metrics.requests.inc({ operation, outcome: 'redirect' });
        throw e;
      }
    };
    return retry(once, {
      ...ACME_RETRY,
      clock,
      ...options.retry,
      onRetry: (info) => {
        if (info.error instanceof TransientError && info.error.code === ERROR_CODES.ACME_RATE_LIMITED) metrics.rateLimitWaits.inc();
        log?.warn({ err: info.error, attempt: info.attempt, delayMs: info.delayMs, operation }, 'Acme request failed, retrying');
        options.retry?.onRetry?.(info);
      },
    });
  }

  const badResponse = (operation: string, stage: Stage, what: string, answer: AcmeAnswer) => {
    log?.warn({ ref: answer.ref, operation, status: answer.status, expected: what }, 'Acme answered 2xx without what the contract promises');
    return new PermanentError(`${ACME_PUBLIC_TEXT.error} (${operation}: 2xx without ${what}, ref ${answer.ref})`, { code: ERROR_CODES.ACME_BAD_RESPONSE, stage, context: { tenantId, operation, ref: answer.ref } });
  };

  const WRITE_REJECTIONS = [403, 409, 412, 422] as const;

  /** A write's answer: the acknowledged appointment, or the classified permanent error. */
  function writeAck(operation: string, answer: AcmeAnswer): WriteAck {
    const context = { tenantId, operation, status: answer.status, ref: answer.ref };
    const fail = (code: (typeof ERROR_CODES)[keyof typeof ERROR_CODES], text: string, more: Record<string, string | number> = {}) =>
      new PermanentError(`${text} (${operation} ${answer.status}, ref ${answer.ref})`, { code, stage: 'writeback', context: { ...context, ...more } });
    const acmeCode = (answer.body as { error?: { code?: unknown } } | undefined)?.error?.code;
    if (answer.status === 412) {
      const current = Number((answer.body as { error?: { details?: { current_version?: unknown } } } | undefined)?.error?.details?.current_version);
      throw fail(ERROR_CODES.ACME_CONFLICT, 'Acme has a newer version of the appointment', Number.isSafeInteger(current) ? { currentVersion: current } : {});
    }
    if (answer.status === 409) throw fail(ERROR_CODES.ACME_CONFLICT, 'The appointment is deleted in Acme', { reason: 'deleted' });
    if (answer.status === 403) throw fail(ERROR_CODES.ACME_WRITE_FORBIDDEN, WRITE_SCOPE_TEXT);
    if (answer.status === 422) {
      const reused = acmeCode === 'idempotency_key_reused';
      throw fail(ERROR_CODES.ACME_VALIDATION_FAILED, reused ? 'Acme refused a reused idempotency key' : 'Acme refused the values', { fieldErrors: fieldErrorsOf(answer.body), acmeCode: reused ? 'idempotency_key_reused' : 'validation_failed' });
    }
    const b = answer.body as Partial<AcmeAppointment> | undefined;
    if (typeof b?.id !== 'string' || typeof b.version !== 'number') throw badResponse(operation, 'writeback', 'the appointment', answer);
    return { appointment: b as AcmeAppointment, replayed: answer.headers.get('idempotent-replayed') === 'true' };
  }

  const writeHeaders = (w: WriteOptions): Record<string, string> => ({
    'idempotency-key': w.idempotencyKey,
    ...(w.ifMatchVersion === undefined ? {} : { 'if-match': `"${w.ifMatchVersion}"` }),
  });

  const getStage = options.stages?.get ?? 'enrich';
  const otherStage = options.stages?.other ?? 'poll';

  return {
    tenantId,
    async get(type, id) {
      const operation = `get_${type}`;
      const answer = await exchange(operation, getStage, 'GET', `/v1/${ACME_COLLECTIONS[type]}/${encodeURIComponent(id)}`);
      if (answer.body === null || typeof answer.body !== 'object') throw badResponse(operation, getStage, 'a JSON object', answer);
      return answer.body as AcmeObjects[typeof type];
    },
    async list(type, q) {
      const operation = `list_${type}`;
      const params = new URLSearchParams();
      if (q.cursor) params.set('cursor', q.cursor);
      else if (q.updatedSince) params.set('updated_since', q.updatedSince);
      if (q.limit !== undefined) params.set('limit', String(q.limit));
      const query = params.size > 0 ? `?${params.toString()}` : '';
      const answer = await exchange(operation, otherStage, 'GET', `/v1/${ACME_COLLECTIONS[type]}${query}`);
      const page = answer.body as Partial<AcmePage<AcmeObjects[typeof type]>> | undefined;
      if (!Array.isArray(page?.data) || (page.next_cursor !== null && typeof page.next_cursor !== 'string')) throw badResponse(operation, otherStage, '{ data, next_cursor }', answer);
      return { data: page.data, next_cursor: page.next_cursor };
    },
    async createWebhookSubscription(input) {
      const operation = 'create_webhook_subscription';
      const answer = await exchange(operation, otherStage, 'POST', '/v1/webhook-subscriptions', { url: input.url, event_types: input.eventTypes ?? ['*'] });
      const b = answer.body as { id?: unknown; secret?: unknown } | undefined;
      if (typeof b?.id !== 'string' || typeof b.secret !== 'string') throw badResponse(operation, otherStage, 'id and secret', answer);
      return { id: b.id, secret: b.secret };
    },
    async patchAppointment(id, patch, write) {
      const operation = 'patch_appointment';
      const answer = await exchange(operation, 'writeback', 'PATCH', `/v1/appointments/${encodeURIComponent(id)}`, patch, { headers: writeHeaders(write), passThrough: WRITE_REJECTIONS });
      return writeAck(operation, answer);
    },
    async deleteAppointment(id, write) {
      const operation = 'delete_appointment';
      const answer = await exchange(operation, 'writeback', 'DELETE', `/v1/appointments/${encodeURIComponent(id)}`, undefined, { headers: writeHeaders(write), passThrough: WRITE_REJECTIONS });
      return writeAck(operation, answer);
    },
    async deleteWebhookSubscription(id) {
      const operation = 'delete_webhook_subscription';
      try {
        await exchange(operation, otherStage, 'DELETE', `/v1/webhook-subscriptions/${encodeURIComponent(id)}`);
      } catch (err) {
        // Already gone is what we wanted.
        if ((err as { code?: string }).code !== ERROR_CODES.ACME_NOT_FOUND) throw err;
      }
    },
  };
}

/** One client per tenant, created on first use and kept (its credentials cache lives with it). */
export function acmeClientsFor(options: Omit<AcmeClientOptions, 'tenantId'>): (tenantId: string) => AcmeClient {
  const clients = new Map<string, AcmeClient>();
  return (tenantId) => {
    let client = clients.get(tenantId);
    if (!client) clients.set(tenantId, (client = createAcmeClient({ ...options, tenantId })));
    return client;
  };
}

/**
 * Our OAuth client at Acme, from the configuration, for refreshing OAuth tenants'
 * tokens; empty when not configured (API-key tenants need nothing).
 */
export function oauthClientOf(config: Pick<Config, 'ACME_OAUTH_CLIENT_ID' | 'ACME_OAUTH_CLIENT_SECRET'>): { clientId?: string; clientSecret?: string } {
  return config.ACME_OAUTH_CLIENT_ID && config.ACME_OAUTH_CLIENT_SECRET ? { clientId: config.ACME_OAUTH_CLIENT_ID, clientSecret: config.ACME_OAUTH_CLIENT_SECRET } : {};
}

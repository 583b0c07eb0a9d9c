/**
 * A tenant's sync status for its settings page, computed from PostgreSQL only (cheap,
 * any admin process can answer): when the last webhook-borne change and the last poll
 * landed, how fresh the synced data is, recent failures and how many records the
 * consumers sent to the DLQ.
 *
 * "Last webhook" is read from calendar_events.correlation_id: every row carries the
 * webhook-id (or `poll:` / `reconcile:` / `backfill:` run ID) of the delivery that brought
 * it. Activities carry no correlation ID, so a tenant with touch-points only shows none.
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { latestBackfill, type BackfillProgress } from '../producers/poller/backfill.js';
import type { Tenant } from '../tenants/types.js';
import { visibleTenant } from './context.js';
import { backfillResponse, emptyQuery, errorResponse, tenantIdParams } from './schemas.js';

export interface SyncFailure {
  at: string;
  source: 'backfill' | 'consumer';
  message: string;
}

export interface TenantStatus {
  tenantId: string;
  status: Tenant['status'];
  authKind: Tenant['authKind'];
  /** Credentials stored and a webhook subscription at Acme: the tenant was activated. */
  connected: boolean;
  credentialsSet: boolean;
  lastWebhookAt: string | null;
  lastPollAt: string | null;
  lastReconcileAt: string | null;
  /** The newest change written to contacts, calendar events or activity facts. */
  lastEventSyncedAt: string | null;
  freshnessSeconds: number | null;
  ledger: { received: number; written: number; dlq: number; skipped: number };
  /** Records the consumers sent to the DLQ (consumer_ledger; the DLQ route reads the topic itself). */
  dlqCount: number;
  errors: SyncFailure[];
  backfill: BackfillProgress | null;
}

/** Correlation IDs our poller and backfills write; anything else came with a webhook. */
const NOT_WEBHOOK = ['poll:%', 'reconcile:%', 'backfill:%'];
const RECENT_FAILURES = 5;

const iso = (d: Date | null | undefined): string | null => d?.toISOString() ?? null;

async function syncTimes(pool: pg.Pool, tenantId: string) {
  const { rows } = await pool.query<{ last_webhook: Date | null; last_poll: Date | null; last_reconcile: Date | null; last_event: Date | null; age: number | null }>(
    `WITH events AS (
       SELECT updated_at FROM calendar_events WHERE tenant_id = $1
       UNION ALL SELECT updated_at FROM activity_facts WHERE tenant_id = $1
       UNION ALL SELECT updated_at FROM contacts WHERE tenant_id = $1
     ), latest AS (SELECT max(updated_at) AS at FROM events)
     SELECT
       (SELECT max(updated_at) FROM calendar_events WHERE tenant_id = $1 AND correlation_id IS NOT NULL AND NOT correlation_id LIKE ANY ($2)) AS last_webhook,
       (SELECT max(polled_at) FROM poll_cursors WHERE tenant_id = $1) AS last_poll,
       (SELECT max(reconciled_at) FROM poll_cursors WHERE tenant_id = $1) AS last_reconcile,
       latest.at AS last_event,
       EXTRACT(EPOCH FROM now() - latest.at)::float8 AS age
     FROM latest`,
    [tenantId, NOT_WEBHOOK],
  );
  return rows[0]!;
}

async function ledgerOf(pool: pg.Pool, tenantId: string): Promise<TenantStatus['ledger']> {
  const { rows } = await pool.query<{ received: string; written: string; dlq: string; skipped: string }>(
    `SELECT COALESCE(sum(received), 0) AS received, COALESCE(sum(written), 0) AS written, COALESCE(sum(dlq), 0) AS dlq, COALESCE(sum(skipped), 0) AS skipped
     FROM consumer_ledger WHERE tenant_id = $1`,
    [tenantId],
  );
  const r = rows[0]!;
  return { received: Number(r.received), written: Number(r.written), dlq: Number(r.dlq), skipped: Number(r.skipped) };
}

async function recentFailures(pool: pg.Pool, tenantId: string, ledger: TenantStatus['ledger']): Promise<SyncFailure[]> {
  const { rows } = await pool.query<{ at: Date; error: string | null }>(
    `SELECT COALESCE(finished_at, started_at) AS at, error FROM backfill_runs WHERE tenant_id = $1 AND status = 'failed' ORDER BY started_at DESC LIMIT $2`,
    [tenantId, RECENT_FAILURES],
  );
  const failures: SyncFailure[] = rows.map((r) => ({ at: r.at.toISOString(), source: 'backfill', message: r.error ?? 'backfill failed' }));
  if (ledger.dlq > 0) {
    const { rows: [last] } = await pool.query<{ at: Date }>('SELECT max(updated_at) AS at FROM consumer_ledger WHERE tenant_id = $1 AND dlq > 0', [tenantId]);
    failures.push({ at: last!.at.toISOString(), source: 'consumer', message: `${ledger.dlq} record(s) could not be synced and are in the dead-letter queue` });
  }
  return failures.sort((a, b) => b.at.localeCompare(a.at));
}

export async function tenantStatus(pool: pg.Pool, tenant: Tenant): Promise<TenantStatus> {
  const [times, ledger, backfill] = await Promise.all([syncTimes(pool, tenant.id), ledgerOf(pool, tenant.id), latestBackfill(pool, tenant.id)]);
  const credentialsSet = tenant.authKind === 'oauth' ? tenant.secretsSet.oauth : tenant.secretsSet.apiKey;
  return {
    tenantId: tenant.id,
    status: tenant.status,
    authKind: tenant.authKind,
    connected: credentialsSet && tenant.webhookSubscriptionId !== null,
    credentialsSet,
    lastWebhookAt: iso(times.last_webhook),
    lastPollAt: iso(times.last_poll),
    lastReconcileAt: iso(times.last_reconcile),
    lastEventSyncedAt: iso(times.last_event),
    freshnessSeconds: times.age === null ? null : Math.max(0, Math.round(times.age)),
    ledger,
    dlqCount: ledger.dlq,
    errors: await recentFailures(pool, tenant.id, ledger),
    backfill: backfill ?? null,
  };
}

const nullableStr = { type: ['string', 'null'] } as const;
const count = { type: 'integer' } as const;

export const statusResponse = {
  type: 'object',
  properties: {
    tenantId: { type: 'string' },
    status: { type: 'string', enum: ['active', 'paused'] },
    authKind: { type: 'string', enum: ['api_key', 'oauth'] },
    connected: { type: 'boolean' },
    credentialsSet: { type: 'boolean' },
    lastWebhookAt: nullableStr,
    lastPollAt: nullableStr,
    lastReconcileAt: nullableStr,
    lastEventSyncedAt: nullableStr,
    freshnessSeconds: { type: ['integer', 'null'] },
    ledger: { type: 'object', properties: { received: count, written: count, dlq: count, skipped: count } },
    dlqCount: count,
    errors: { type: 'array', items: { type: 'object', properties: { at: { type: 'string' }, source: { type: 'string' }, message: { type: 'string' } } } },
    backfill: { anyOf: [backfillResponse, { type: 'null' }] },
  },
} as const;

const errors = { 400: errorResponse, 401: errorResponse, 404: errorResponse, 429: errorResponse };

/** `GET /admin/tenants/:id/status`, under /admin behind admin auth. */
export async function statusRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  app.get<{ Params: { id: string } }>(
    '/tenants/:id/status',
    { schema: { params: tenantIdParams, querystring: emptyQuery, response: { 200: statusResponse, ...errors } } },
    async (request) => tenantStatus(services.pool, await visibleTenant(services, request, request.params.id)),
  );
}

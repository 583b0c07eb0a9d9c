/**
 * What the settings page draws (issue 16), from data PostgreSQL already holds, tenant-scoped
 * like every /admin/tenants/:id route:
 *
 *   GET /admin/tenants/:id/activity?hours=48&days=14
 *     changes synced per hour (calendar events, contacts, activities: the hour each row
 *     last changed, so a row changed twice counts in its latest hour) and DLQ entries per
 *     day by stage plus DLQ records replayed per day. UTC hours and days, zero-filled.
 *
 *   GET /admin/tenants/:id/dlq/entries?limit=50&cursor=…&code=…&stage=…&entity=…
 *     the DLQ index (dlq_entries) newest first, one bounded page at a time by KEYSET
 *     pagination (no OFFSET: page 200 costs what page 1 costs — use-the-index-luke.com/no-offset),
 *     with an opaque cursor for the next page and the filtered total.
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { visibleTenant } from './context.js';
import { sendError } from './errors.js';
import { errorResponse, tenantIdParams } from './schemas.js';

export const MAX_PAGE = 200;
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const errors = { 400: errorResponse, 401: errorResponse, 404: errorResponse, 429: errorResponse };

const activityQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { hours: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' }, days: { type: 'string', pattern: '^[1-9][0-9]?$' } },
} as const;

const activityResponse = {
  type: 'object',
  properties: {
    perHour: { type: 'array', items: { type: 'object', properties: { hour: str, calendar: int, contacts: int, activities: int } } },
    dlqPerDay: { type: 'array', items: { type: 'object', properties: { day: str, byStage: { type: 'object', additionalProperties: int }, replayed: int } } },
  },
} as const;

const entriesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
    cursor: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,800}$' },
    code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,63}$' },
    stage: { type: 'string', pattern: '^[a-z]{1,20}$' },
    entity: { type: 'string', pattern: '^[a-z]{1,20}$' },
  },
} as const;

const entry = {
  type: 'object',
  properties: {
    entity: str, recordId: str, version: int, stage: str, code: str, message: str, recordedBy: str, createdAt: str,
    sourceTopic: { type: ['string', 'null'] }, sourcePartition: { type: ['integer', 'null'] }, sourceOffset: { type: ['string', 'null'] },
  },
} as const;

const entriesResponse = {
  type: 'object',
  properties: { total: int, limit: int, next: { type: ['string', 'null'] }, data: { type: 'array', items: entry } },
} as const;

export interface ActivityAnswer {
  perHour: { hour: string; calendar: number; contacts: number; activities: number }[];
  dlqPerDay: { day: string; byStage: Record<string, number>; replayed: number }[];
}

export async function tenantActivity(pool: pg.Pool, tenantId: string, hours: number, days: number): Promise<ActivityAnswer> {
  const perHour = await pool.query<{ hour: Date; calendar: number; contacts: number; activities: number }>(
    `WITH hours AS (
       SELECT generate_series(date_trunc('hour', now()) - ($2::int - 1) * interval '1 hour', date_trunc('hour', now()), interval '1 hour') AS hour
     ), changes AS (
       SELECT 'calendar' AS kind, date_trunc('hour', updated_at) AS hour FROM calendar_events WHERE tenant_id = $1 AND updated_at >= (SELECT min(hour) FROM hours)
       UNION ALL SELECT 'contacts', date_trunc('hour', updated_at) FROM contacts WHERE tenant_id = $1 AND updated_at >= (SELECT min(hour) FROM hours)
       UNION ALL SELECT 'activities', date_trunc('hour', updated_at) FROM activity_facts WHERE tenant_id = $1 AND updated_at >= (SELECT min(hour) FROM hours)
     )
     SELECT h.hour,
            count(*) FILTER (WHERE c.kind = 'calendar')::int AS calendar,
            count(*) FILTER (WHERE c.kind = 'contacts')::int AS contacts,
            count(*) FILTER (WHERE c.kind = 'activities')::int AS activities
       FROM hours h LEFT JOIN changes c ON c.hour = h.hour GROUP BY h.hour ORDER BY h.hour`,
    [tenantId, hours],
  );
  const since = `date_trunc('day', now() AT TIME ZONE 'UTC') - ($2::int - 1) * interval '1 day'`;
  const [entries, replays] = await Promise.all([
    pool.query<{ day: string; stage: string; n: number }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, stage, count(*)::int AS n FROM dlq_entries
        WHERE tenant_id = $1 AND created_at AT TIME ZONE 'UTC' >= ${since} GROUP BY 1, 2`,
      [tenantId, days],
    ),
    pool.query<{ day: string; n: number }>(
      `SELECT to_char(replayed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n FROM dlq_replays
        WHERE tenant_id = $1 AND replayed_at AT TIME ZONE 'UTC' >= ${since} GROUP BY 1`,
      [tenantId, days],
    ),
  ]);
  const dlqPerDay: ActivityAnswer['dlqPerDay'] = [];
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(today - i * 86_400_000).toISOString().slice(0, 10);
    const byStage: Record<string, number> = {};
    for (const r of entries.rows) if (r.day === day) byStage[r.stage] = r.n;
    dlqPerDay.push({ day, byStage, replayed: replays.rows.find((r) => r.day === day)?.n ?? 0 });
  }
  return { perHour: perHour.rows.map((r) => ({ ...r, hour: r.hour.toISOString() })), dlqPerDay };
}

/** The keyset of a row: created_at in microseconds (a JS Date would lose them) and the primary key. */
type Keyset = [micros: string, entity: string, recordId: string, version: string, reason: string];

function encodeCursor(k: Keyset): string {
  return Buffer.from(JSON.stringify(k)).toString('base64url');
}

/** A cursor is client input: anything but five strings is refused (400), never passed on. */
function decodeCursor(cursor: string): Keyset | undefined {
  try {
    const k = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(k) && k.length === 5 && k.every((v) => typeof v === "string") && /^\d{1,20}$/.test(String(k[0])) && /^\d{1,19}$/.test(String(k[3]))) return k as Keyset;
  } catch { /* refused below */ }
  return undefined;
}

export interface EntriesFilter {
  code?: string;
  stage?: string;
  entity?: string;
}

export interface EntriesPage {
  total: number;
  limit: number;
  next: string | null;
  data: { entity: string; recordId: string; version: number; stage: string; code: string; message: string; recordedBy: string; createdAt: string; sourceTopic: string | null; sourcePartition: number | null; sourceOffset: string | null }[];
}

export async function dlqEntriesPage(pool: pg.Pool, tenantId: string, filter: EntriesFilter, limit: number, after?: Keyset): Promise<EntriesPage> {
  const where = ['tenant_id = $1', '($2::text IS NULL OR code = $2)', '($3::text IS NULL OR stage = $3)', '($4::text IS NULL OR entity = $4)'];
  const params: unknown[] = [tenantId, filter.code ?? null, filter.stage ?? null, filter.entity ?? null];
  const [{ rows: [counted] }, { rows }] = await Promise.all([
    pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM dlq_entries WHERE ${where.join(' AND ')}`, params),
    pool.query<{ micros: string; entity: string; record_id: string; version: string; reason: string; stage: string; code: string; message: string; recorded_by: string; created_at: Date; source_topic: string | null; source_partition: number | null; source_offset: string | null }>(
      `SELECT (extract(epoch FROM created_at) * 1000000)::bigint::text AS micros, entity, record_id, version::text, reason, stage, code, message, recorded_by, created_at,
              source_topic, source_partition, source_offset::text
         FROM dlq_entries
        WHERE ${where.join(' AND ')}
          ${after ? "AND (created_at, entity, record_id, version, reason) < ('epoch'::timestamptz + $6::bigint * interval '1 microsecond', $7, $8, $9::bigint, $10)" : ''}
        ORDER BY created_at DESC, entity DESC, record_id DESC, version DESC, reason DESC
        LIMIT $5`,
      [...params, limit + 1, ...(after ?? [])],
    ),
  ]);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    total: counted!.n,
    limit,
    next: rows.length > limit && last ? encodeCursor([last.micros, last.entity, last.record_id, last.version, last.reason]) : null,
    data: page.map((r) => ({
      entity: r.entity, recordId: r.record_id, version: Number(r.version), stage: r.stage, code: r.code, message: r.message, recordedBy: r.recorded_by,
      createdAt: r.created_at.toISOString(), sourceTopic: r.source_topic, sourcePartition: r.source_partition, sourceOffset: r.source_offset,
    })),
  };
}

/** Under /admin, behind admin auth. */
export async function activityRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  app.get<{ Params: { id: string }; Querystring: { hours?: string; days?: string } }>(
    '/tenants/:id/activity',
    { schema: { params: tenantIdParams, querystring: activityQuery, response: { 200: activityResponse, ...errors } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      const hours = Number(request.query.hours ?? 48);
      const days = Number(request.query.days ?? 14);
      if (hours > 168) return sendError(reply, 400, 'VALIDATION_FAILED', 'hours: at most 168 (a week)', 'querystring.hours');
      return tenantActivity(services.pool, tenant.id, hours, days);
    },
  );
  app.get<{ Params: { id: string }; Querystring: EntriesFilter & { limit?: string; cursor?: string } }>(
    '/tenants/:id/dlq/entries',
    { schema: { params: tenantIdParams, querystring: entriesQuery, response: { 200: entriesResponse, ...errors } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      const limit = Number(request.query.limit ?? 50);
      if (limit > MAX_PAGE) return sendError(reply, 400, 'VALIDATION_FAILED', `limit: at most ${MAX_PAGE}`, 'querystring.limit');
      const after = request.query.cursor === undefined ? undefined : decodeCursor(request.query.cursor);
      if (request.query.cursor !== undefined && after === undefined) return sendError(reply, 400, 'VALIDATION_FAILED', 'cursor: not a cursor this API gave', 'querystring.cursor');
      const { code, stage, entity } = request.query;
      return dlqEntriesPage(services.pool, tenant.id, { ...(code ? { code } : {}), ...(stage ? { stage } : {}), ...(entity ? { entity } : {}) }, limit, after);
    },
  );
}

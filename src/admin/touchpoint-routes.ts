/**
 * The touch-point dashboard's data (issue 16), tenant-scoped by the admin tokens:
 *
 *   GET /admin/tenants/:id/touchpoints?from=YYYY-MM-DD&to=YYYY-MM-DD
 *
 * Per Acme user, local day and channel, the counts PostgreSQL holds (touchpoint_counts:
 * the same numbers as the touchpoints topic), for at most MAX_DAYS days and the MAX_USERS
 * users with the most touch-points in the range (`moreUsers` says how many were left out),
 * so an answer stays bounded however large the tenant. Each user comes with Acme's name and
 * email (tenant data: the page writes them as text) and our user ID as the touchpoints
 * topic maps it (override, else email).
 */
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { isDay } from '../transforms/touchpoints.js';
import { visibleTenant } from './context.js';
import { sendError } from './errors.js';
import { errorResponse, tenantIdParams } from './schemas.js';

export const MAX_DAYS = 92;
export const MAX_USERS = 50;
const str = { type: 'string' } as const;
const nullable = { type: ['string', 'null'] } as const;
const DAY = '^\\d{4}-\\d{2}-\\d{2}$';

const query = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to'],
  properties: { from: { type: 'string', pattern: DAY }, to: { type: 'string', pattern: DAY } },
} as const;

const response = {
  type: 'object',
  properties: {
    from: str, to: str, moreUsers: { type: 'integer' },
    users: { type: 'array', items: { type: 'object', properties: { acmeUserId: str, name: nullable, email: nullable, userId: nullable, EMAIL: { type: 'integer' }, PHONE: { type: 'integer' } } } },
    rows: { type: 'array', items: { type: 'object', properties: { acmeUserId: str, day: str, EMAIL: { type: 'integer' }, PHONE: { type: 'integer' } } } },
  },
} as const;

export interface TouchpointUser { acmeUserId: string; name: string | null; email: string | null; userId: string | null; EMAIL: number; PHONE: number }
export interface TouchpointRow { acmeUserId: string; day: string; EMAIL: number; PHONE: number }
export interface TouchpointDashboard { from: string; to: string; moreUsers: number; users: TouchpointUser[]; rows: TouchpointRow[] }

export async function touchpointDashboard(pool: pg.Pool, tenantId: string, overrides: Record<string, string>, from: string, to: string): Promise<TouchpointDashboard> {
  const { rows: users } = await pool.query<{ acme_user_id: string; name: string | null; email: string | null; email_n: number; phone_n: number; users: number }>(
    `WITH totals AS (
       SELECT acme_user_id, sum(count) FILTER (WHERE channel = 'EMAIL')::int AS email_n, sum(count) FILTER (WHERE channel = 'PHONE')::int AS phone_n
         FROM touchpoint_counts WHERE tenant_id = $1 AND day BETWEEN $2::date AND $3::date AND count > 0 GROUP BY acme_user_id
     )
     SELECT t.acme_user_id, u.name, u.email, COALESCE(t.email_n, 0) AS email_n, COALESCE(t.phone_n, 0) AS phone_n, count(*) OVER ()::int AS users
       FROM totals t LEFT JOIN acme_users u ON u.tenant_id = $1 AND u.acme_user_id = t.acme_user_id
      ORDER BY COALESCE(t.email_n, 0) + COALESCE(t.phone_n, 0) DESC, t.acme_user_id
      LIMIT $4`,
    [tenantId, from, to, MAX_USERS],
  );
  const ids = users.map((u) => u.acme_user_id);
  const { rows } = await pool.query<{ acme_user_id: string; day: string; email_n: number; phone_n: number }>(
    `SELECT acme_user_id, day::text AS day, COALESCE(sum(count) FILTER (WHERE channel = 'EMAIL'), 0)::int AS email_n, COALESCE(sum(count) FILTER (WHERE channel = 'PHONE'), 0)::int AS phone_n
       FROM touchpoint_counts WHERE tenant_id = $1 AND acme_user_id = ANY($2::text[]) AND day BETWEEN $3::date AND $4::date AND count > 0
      GROUP BY acme_user_id, day ORDER BY day, acme_user_id`,
    [tenantId, ids, from, to],
  );
  return {
    from, to, moreUsers: Math.max(0, (users[0]?.users ?? 0) - users.length),
    users: users.map((u) => ({ acmeUserId: u.acme_user_id, name: u.name, email: u.email, userId: overrides[u.acme_user_id] ?? u.email, EMAIL: u.email_n, PHONE: u.phone_n })),
    rows: rows.map((r) => ({ acmeUserId: r.acme_user_id, day: r.day, EMAIL: r.email_n, PHONE: r.phone_n })),
  };
}

/** Under /admin, behind admin auth. */
export async function touchpointRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  app.get<{ Params: { id: string }; Querystring: { from: string; to: string } }>(
    '/tenants/:id/touchpoints',
    { schema: { params: tenantIdParams, querystring: query, response: { 200: response, 400: errorResponse, 401: errorResponse, 404: errorResponse, 429: errorResponse } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      const { from, to } = request.query;
      if (!isDay(from)) return sendError(reply, 400, 'VALIDATION_FAILED', 'from: not a calendar day', 'querystring.from');
      if (!isDay(to)) return sendError(reply, 400, 'VALIDATION_FAILED', 'to: not a calendar day', 'querystring.to');
      const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
      if (days < 1) return sendError(reply, 400, 'VALIDATION_FAILED', 'to: before from', 'querystring.to');
      if (days > MAX_DAYS) return sendError(reply, 400, 'VALIDATION_FAILED', `to: at most ${MAX_DAYS} days after from`, 'querystring.to');
      return touchpointDashboard(services.pool, tenant.id, tenant.settings.userMapping.overrides, from, to);
    },
  );
}

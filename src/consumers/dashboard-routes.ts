/**
 * The touch-point dashboard query, as a fastify plugin the consumer process mounts:
 *
 *   GET /dashboard/touchpoints?tenant=…&user=…&from=YYYY-MM-DD&to=YYYY-MM-DD
 *
 * `user` is either
 *  - an Acme user ID (`usr_…`: Acme's contract prefixes every user ID so, and tenant
 *    overrides are keyed by it):
 *    that one Acme user's counts, known to acme_users or not; or
 *  - our user: the ID a tenant override maps Acme users to, or else an Acme user's
 *    email (case-insensitive) — the same mapping as `user_id` on the touchpoints topic.
 *    Several Acme users mapping to one of ours are summed; none → 404.
 *
 * Days are local days in each Acme user's time zone (as counted). The answer lists
 * every day from `from` to `to` inclusive (zero-filled) with EMAIL and PHONE counts,
 * and the totals. Bad parameters → 400 naming the field: `{ error: { code, message, field } }`.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AcmeSyncError, ERROR_CODES, PermanentError, ValidationError, isRetriable } from '../errors/index.js';
import { TENANT_ID } from '../tenants/types.js';
import { dayFromNumber, dayNumber, isDay, type Channel } from '../transforms/touchpoints.js';
import { readCounts, type Queryable } from './sinks/touchpoints.js';

export interface DashboardRoutesOptions {
  /** A pool (or client) whose search_path holds the integration's tables. */
  db: Queryable;
  /** Longest range one query may ask for, in days (default 366). */
  maxDays?: number;
}

export interface TouchpointQuery {
  tenant: string;
  user: string;
  from: string;
  to: string;
}

export interface TouchpointDay {
  day: string;
  EMAIL: number;
  PHONE: number;
}

export interface TouchpointAnswer {
  tenant: string;
  user: string;
  /** How `user` was read: an Acme user ID, or our user (override target or email). */
  userKind: 'acme' | 'ours';
  acmeUserIds: string[];
  from: string;
  to: string;
  days: TouchpointDay[];
  totals: Record<Channel, number>;
}

const ACME_USER_ID = /^usr_/;
const DAY = '^\\d{4}-\\d{2}-\\d{2}$';

const querystring = {
  type: 'object',
  required: ['tenant', 'user', 'from', 'to'],
  additionalProperties: false,
  properties: {
    tenant: { type: 'string', pattern: TENANT_ID.source },
    user: { type: 'string', minLength: 1, maxLength: 320, description: 'An Acme user ID (usr_…) or our user (override target or the Acme user email)' },
    from: { type: 'string', pattern: DAY, description: 'First local day, inclusive' },
    to: { type: 'string', pattern: DAY, description: 'Last local day, inclusive' },
  },
} as const;

const dayCounts = { type: 'object', required: ['day', 'EMAIL', 'PHONE'], properties: { day: { type: 'string' }, EMAIL: { type: 'integer' }, PHONE: { type: 'integer' } } } as const;
const errorBody = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } } } },
} as const;

const response = {
  200: {
    type: 'object',
    properties: {
      tenant: { type: 'string' },
      user: { type: 'string' },
      userKind: { type: 'string', enum: ['acme', 'ours'] },
      acmeUserIds: { type: 'array', items: { type: 'string' } },
      from: { type: 'string' },
      to: { type: 'string' },
      days: { type: 'array', items: dayCounts },
      totals: { type: 'object', properties: { EMAIL: { type: 'integer' }, PHONE: { type: 'integer' } } },
    },
  },
  '4xx': errorBody,
  '5xx': errorBody,
} as const;

function invalid(field: string, message: string): ValidationError {
  return new ValidationError(`${field}: ${message}`, { context: { field } });
}

/** ajv's first complaint, as "field: message". */
function fromSchemaError(err: Error & { validation?: { instancePath: string; message?: string; params: Record<string, unknown> }[] }): ValidationError {
  const first = err.validation?.[0];
  if (first === undefined) return invalid('query', err.message);
  const field = typeof first.params.missingProperty === 'string' ? first.params.missingProperty : first.instancePath.replace(/^\//, '') || 'query';
  return invalid(field, typeof first.params.missingProperty === 'string' ? 'is required' : (first.message ?? 'is invalid'));
}

/** Semantic checks the JSON schema cannot express: real dates, order, range. */
export function checkRange(query: TouchpointQuery, maxDays: number): void {
  if (!isDay(query.from)) throw invalid('from', `${query.from} is not a calendar date`);
  if (!isDay(query.to)) throw invalid('to', `${query.to} is not a calendar date`);
  const days = dayNumber(query.to) - dayNumber(query.from) + 1;
  if (days < 1) throw invalid('to', 'must not be before from');
  if (days > maxDays) throw invalid('to', `the range may cover at most ${maxDays} days`);
}

const RESOLVE_OUR_USER = `
SELECT o.key AS acme_user_id FROM tenants t, jsonb_each_text(COALESCE(t.settings #> '{userMapping,overrides}', '{}'::jsonb)) o
WHERE t.id = $1 AND o.value = $2
UNION
SELECT au.acme_user_id FROM tenants t JOIN acme_users au ON au.tenant_id = t.id
WHERE t.id = $1 AND lower(au.email) = lower($2) AND NOT (COALESCE(t.settings #> '{userMapping,overrides}', '{}'::jsonb) ? au.acme_user_id)
ORDER BY 1`;

async function tenantExists(db: Queryable, tenantId: string): Promise<boolean> {
  return ((await db.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId])).rowCount ?? 0) > 0;
}

async function acmeUsersOf(db: Queryable, query: TouchpointQuery): Promise<{ userKind: 'acme' | 'ours'; acmeUserIds: string[] }> {
  if (ACME_USER_ID.test(query.user)) return { userKind: 'acme', acmeUserIds: [query.user] };
  const { rows } = await db.query<{ acme_user_id: string }>(RESOLVE_OUR_USER, [query.tenant, query.user]);
  if (rows.length === 0) throw new PermanentError('user: no Acme user of this tenant maps to this user', { code: ERROR_CODES.ACME_NOT_FOUND, context: { field: 'user' } });
  return { userKind: 'ours', acmeUserIds: rows.map((r) => r.acme_user_id) };
}

/** The answer for a validated query: zero-filled days and totals, summed over the user's Acme users. */
export async function queryTouchpoints(db: Queryable, query: TouchpointQuery): Promise<TouchpointAnswer> {
  if (!(await tenantExists(db, query.tenant))) throw new PermanentError('tenant: unknown tenant', { code: ERROR_CODES.UNKNOWN_TENANT, context: { field: 'tenant' } });
  const { userKind, acmeUserIds } = await acmeUsersOf(db, query);
  const counts = await readCounts(db, { tenantId: query.tenant, acmeUserIds, from: query.from, to: query.to });
  const days: TouchpointDay[] = [];
  for (let n = dayNumber(query.from); n <= dayNumber(query.to); n += 1) days.push({ day: dayFromNumber(n), EMAIL: 0, PHONE: 0 });
  const totals: Record<Channel, number> = { EMAIL: 0, PHONE: 0 };
  const first = dayNumber(query.from);
  for (const c of counts) {
    days[dayNumber(c.day) - first]![c.channel] += c.count;
    totals[c.channel] += c.count;
  }
  return { tenant: query.tenant, user: query.user, userKind, acmeUserIds, from: query.from, to: query.to, days, totals };
}

const STATUS: Partial<Record<string, number>> = {
  [ERROR_CODES.VALIDATION_FAILED]: 400,
  [ERROR_CODES.UNKNOWN_TENANT]: 404,
  [ERROR_CODES.ACME_NOT_FOUND]: 404,
};

function replyWithError(reply: FastifyReply, request: FastifyRequest, err: unknown): FastifyReply {
  if (err instanceof AcmeSyncError && STATUS[err.code] !== undefined) {
    const field = typeof err.context.field === 'string' ? err.context.field : undefined;
    return reply.code(STATUS[err.code]!).send({ error: { code: err.code, message: err.message, ...(field ? { field } : {}) } });
  }
  if (isRetriable(err)) {
    request.log.warn({ err }, 'dashboard query failed, retriable');
    return reply.code(503).header('retry-after', '5').send({ error: { code: ERROR_CODES.DATABASE_UNAVAILABLE, message: 'Temporarily unavailable, retry later' } });
  }
  request.log.error({ err }, 'dashboard query failed');
  return reply.code(500).send({ error: { code: ERROR_CODES.INTERNAL, message: 'Internal error' } });
}

export function createDashboardRoutes(options: DashboardRoutesOptions): FastifyPluginAsync {
  const maxDays = options.maxDays ?? 366;
  return async (app: FastifyInstance) => {
    app.setErrorHandler((err, request, reply) => replyWithError(reply, request, err));
    app.get<{ Querystring: TouchpointQuery }>(
      '/dashboard/touchpoints',
      { schema: { querystring, response }, attachValidation: true },
      async (request, reply) => {
        if (request.validationError) throw fromSchemaError(request.validationError as Parameters<typeof fromSchemaError>[0]);
        checkRange(request.query, maxDays);
        return reply.send(await queryTouchpoints(options.db, request.query));
      },
    );
  };
}

// REST resources under /v1. Reads are scoped to the caller's account; lists are ordered
// by (updated_at, id) and include soft-deleted records so incremental sync sees deletes.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store.js';
import type { MutableObjectType, ObjectType } from '../types.js';
import { requireScope } from './api-guards.js';
import type { SandboxContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { ApiError, errorBody, notFound } from './errors.js';
import { fieldErrorsOf, isoTimestamp, parse, timeZone, type FieldError } from './validation.js';
import { fingerprintOf, type StoredAnswer } from '../idempotency.js';

const PATHS: Record<ObjectType, string> = { user: 'users', contact: 'contacts', appointment: 'appointments', activity: 'activities' };

const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).optional(),
  updated_since: isoTimestamp.optional(),
});

const nullableText = z.string().max(500).nullable();

const contactFields = {
  first_name: z.string().min(1).max(200),
  last_name: z.string().min(1).max(200),
  email: z.email().nullable(),
  phone: nullableText,
  company: nullableText,
};

const appointmentFields = {
  owner_user_id: z.string(),
  contact_id: z.string(),
  title: z.string().min(1).max(500),
  starts_at: isoTimestamp,
  ends_at: isoTimestamp,
  time_zone: timeZone,
  location: nullableText,
  status: z.enum(['scheduled', 'cancelled', 'completed']),
};

const activityFields = {
  type: z.enum(['email', 'call', 'meeting', 'note']),
  direction: z.enum(['inbound', 'outbound']),
  user_id: z.string(),
  contact_id: z.string(),
  subject: z.string().max(1000),
  occurred_at: isoTimestamp,
  duration_seconds: z.number().int().min(0).nullable(),
};

const createSchemas = {
  contact: z.strictObject({ ...contactFields, email: contactFields.email.default(null), phone: nullableText.default(null), company: nullableText.default(null) }),
  appointment: z.strictObject({
    ...appointmentFields,
    time_zone: timeZone.optional(),
    location: nullableText.default(null),
    status: appointmentFields.status.default('scheduled'),
  }),
  activity: z.strictObject({ ...activityFields, duration_seconds: activityFields.duration_seconds.default(null) }),
};

const patchSchemas = {
  contact: z.strictObject(contactFields).partial(),
  appointment: z.strictObject(appointmentFields).partial(),
  activity: z.strictObject(activityFields).partial(),
};

type Draft = Record<string, unknown>;

// Cross-field and cross-record rules a real CRM enforces on writes (422 with the fields).
function checkReferences(store: Store, accountId: string, type: MutableObjectType, draft: Draft): void {
  const errors: FieldError[] = [];
  const userField = type === 'appointment' ? 'owner_user_id' : 'user_id';
  if (type !== 'contact') {
    if (!store.get('user', accountId, String(draft[userField]))) errors.push({ field: userField, code: 'not_found', message: `${userField} ${String(draft[userField])} does not exist` });
    const contact = store.get('contact', accountId, String(draft.contact_id));
    if (!contact || contact.deleted_at) errors.push({ field: 'contact_id', code: 'not_found', message: `contact_id ${String(draft.contact_id)} does not exist` });
  }
  if (type === 'appointment' && typeof draft.starts_at === 'string' && String(draft.ends_at) <= draft.starts_at) errors.push({ field: 'ends_at', code: 'before_start', message: 'ends_at must be after starts_at' });
  if (type === 'activity' && draft.type !== 'call' && draft.duration_seconds !== null && draft.duration_seconds !== undefined) {
    errors.push({ field: 'duration_seconds', code: 'not_allowed', message: 'duration_seconds is only allowed for calls' });
  }
  if (errors.length > 0) throw validationFailed(errors);
}

function validationFailed(errors: FieldError[]): ApiError {
  return new ApiError(422, 'validation_failed', errors.map((e) => e.message).join('; '), { field_errors: errors });
}

/** A write body: unknown fields are a malformed request (400), bad values are field errors (422). */
function parseWrite<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  if (r.error.issues.some((i) => i.code === 'unrecognized_keys')) return parse(schema, input, where);
  throw validationFailed(fieldErrorsOf(r.error.issues));
}

/** Strong entity tag of a versioned record (RFC 9110 §8.8.3). */
export const etagOf = (version: number): string => `"${version}"`;

/**
 * If-Match (RFC 9110 §13.1.1): `*` or a list of entity tags, compared strongly (a weak
 * tag never matches). Absent: no precondition — clients that want optimistic
 * concurrency send it; we chose not to require it (no 428), so existing clients keep working.
 */
function checkIfMatch(header: string | undefined, current: { version: number }): void {
  if (header === undefined) return;
  const tags = header.split(',').map((t) => t.trim()).filter(Boolean);
  if (tags.includes('*') || tags.includes(etagOf(current.version))) return;
  throw new ApiError(412, 'precondition_failed', `The record is at version ${current.version}; If-Match was ${header}.`, { current_version: current.version, etag: etagOf(current.version) });
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

interface WriteResult {
  status: number;
  record: { version: number };
  /** Did this request change a record (bump its version)? */
  applied: boolean;
}

/**
 * Runs a write under its Idempotency-Key (sandbox/src/idempotency.ts): a replay answers
 * the stored answer without executing, a reused key with another request is 422.
 */
async function idempotentWrite(ctx: SandboxContext, request: FastifyRequest, reply: FastifyReply, execute: () => WriteResult): Promise<FastifyReply> {
  const raw = request.headers['idempotency-key'];
  const key = typeof raw === 'string' ? raw : undefined;
  if (raw !== undefined && (key === undefined || !IDEMPOTENCY_KEY.test(key))) throw new ApiError(400, 'invalid_request', 'Idempotency-Key must be 1-255 visible ASCII characters.');
  // The scope first: a token that may not write gets 403 and never reads a stored answer.
  const accountId = requireScope(request, 'crm.write');
  const ifMatch = typeof request.headers['if-match'] === 'string' ? request.headers['if-match'] : undefined;
  const path = request.url.split('?')[0] ?? request.url;
  const fingerprint = fingerprintOf({ method: request.method, path, ifMatch, body: request.body });
  if (key !== undefined) {
    const found = ctx.idempotency.lookup(accountId, key, fingerprint, { method: request.method, path });
    if (found.kind === 'mismatch') throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
    if (found.kind === 'replay') return send(reply.header('idempotent-replayed', 'true'), found.answer);
  }
  let answer: StoredAnswer;
  let applied = false;
  try {
    const result = execute();
    applied = result.applied;
    answer = { status: result.status, body: result.record, headers: { etag: etagOf(result.record.version) } };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    answer = { status: err.status, body: errorBody(err.code, err.message, err.details), headers: {} };
  }
  if (key !== undefined) ctx.idempotency.settle(accountId, key, fingerprint, answer, applied);
  return send(reply, answer);
}

function send(reply: FastifyReply, answer: StoredAnswer): FastifyReply {
  for (const [k, v] of Object.entries(answer.headers)) reply.header(k, v);
  return reply.code(answer.status).type('application/json').send(answer.body);
}

function listRoute(app: FastifyInstance, ctx: SandboxContext, type: ObjectType): void {
  app.get(`/v1/${PATHS[type]}`, async (request) => {
    const accountId = requireScope(request, 'crm.read');
    const q = parse(listQuery, request.query, 'query');
    const cursor = q.cursor ? decodeCursor(q.cursor, type) : null;
    const updatedSince = cursor ? cursor.updatedSince : (q.updated_since ?? null);
    const page = ctx.store.list(type, accountId, {
      limit: q.limit,
      ...(updatedSince ? { updatedSince } : {}),
      ...(cursor ? { after: { updatedAt: cursor.updatedAt, id: cursor.id } } : {}),
    });
    const last = page.items[page.items.length - 1];
    const next = page.hasMore && last ? encodeCursor({ type, updatedAt: last.updated_at, id: last.id, updatedSince }) : null;
    return { data: page.items, next_cursor: next };
  });

  app.get<{ Params: { id: string } }>(`/v1/${PATHS[type]}/:id`, async (request, reply) => {
    const accountId = requireScope(request, 'crm.read');
    const rec = ctx.store.get(type, accountId, request.params.id);
    if (!rec) throw notFound(type, request.params.id);
    if ('version' in rec) reply.header('etag', etagOf(rec.version));
    return rec;
  });
}

function writeRoutes(app: FastifyInstance, ctx: SandboxContext, type: MutableObjectType): void {
  const { store } = ctx;

  app.post(`/v1/${PATHS[type]}`, async (request, reply) =>
    idempotentWrite(ctx, request, reply, () => {
      const accountId = requireScope(request, 'crm.write');
      const input = parseWrite(createSchemas[type] as z.ZodType<Draft>, request.body, `${type}`);
      if (type === 'appointment' && !input.time_zone) input.time_zone = store.get('user', accountId, String(input.owner_user_id))?.time_zone ?? 'UTC';
      checkReferences(store, accountId, type, input);
      return { status: 201, record: store.create(type, accountId, input as never), applied: true };
    }),
  );

  app.patch<{ Params: { id: string } }>(`/v1/${PATHS[type]}/:id`, async (request, reply) =>
    idempotentWrite(ctx, request, reply, () => {
      const accountId = requireScope(request, 'crm.write');
      const patch = parseWrite(patchSchemas[type] as z.ZodType<Draft>, request.body, `${type} patch`);
      const current = store.get(type, accountId, request.params.id);
      if (!current) throw notFound(type, request.params.id);
      checkIfMatch(request.headers['if-match'], current);
      if (current.deleted_at) throw new ApiError(409, 'record_deleted', `${type} ${current.id} is deleted`);
      checkReferences(store, accountId, type, { ...current, ...patch });
      return { status: 200, record: store.update(type, accountId, current.id, patch as never)!, applied: true };
    }),
  );

  app.delete<{ Params: { id: string } }>(`/v1/${PATHS[type]}/:id`, async (request, reply) =>
    idempotentWrite(ctx, request, reply, () => {
      const accountId = requireScope(request, 'crm.write');
      const current = store.get(type, accountId, request.params.id);
      if (!current) throw notFound(type, request.params.id);
      checkIfMatch(request.headers['if-match'], current);
      const deleted = store.softDelete(type, accountId, current.id)!;
      return { status: 200, record: deleted, applied: deleted.version !== current.version };
    }),
  );
}

export function registerResourceRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  for (const type of ['user', 'contact', 'appointment', 'activity'] as const) listRoute(app, ctx, type);
  for (const type of ['contact', 'appointment', 'activity'] as const) writeRoutes(app, ctx, type);
}

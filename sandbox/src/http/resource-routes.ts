// REST resources under /v1. Reads are scoped to the caller's account; lists are ordered
// by (updated_at, id) and include soft-deleted records so incremental sync sees deletes.

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Store } from '../store.js';
import type { MutableObjectType, ObjectType } from '../types.js';
import { requireScope } from './api-guards.js';
import type { SandboxContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { ApiError, notFound } from './errors.js';
import { isoTimestamp, parse, timeZone } from './validation.js';

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

// Cross-field and cross-record rules a real CRM enforces on writes (422 when broken).
function checkReferences(store: Store, accountId: string, type: MutableObjectType, draft: Draft): void {
  const fail = (msg: string): never => {
    throw new ApiError(422, 'validation_failed', msg);
  };
  const userField = type === 'appointment' ? 'owner_user_id' : 'user_id';
  if (type !== 'contact') {
    if (!store.get('user', accountId, String(draft[userField]))) fail(`${userField} ${String(draft[userField])} does not exist`);
    const contact = store.get('contact', accountId, String(draft.contact_id));
    if (!contact || contact.deleted_at) fail(`contact_id ${String(draft.contact_id)} does not exist`);
  }
  if (type === 'appointment' && typeof draft.starts_at === 'string' && String(draft.ends_at) <= draft.starts_at) fail('ends_at must be after starts_at');
  if (type === 'activity' && draft.type !== 'call' && draft.duration_seconds !== null && draft.duration_seconds !== undefined) {
    fail('duration_seconds is only allowed for calls');
  }
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

  app.get<{ Params: { id: string } }>(`/v1/${PATHS[type]}/:id`, async (request) => {
    const accountId = requireScope(request, 'crm.read');
    const rec = ctx.store.get(type, accountId, request.params.id);
    if (!rec) throw notFound(type, request.params.id);
    return rec;
  });
}

function writeRoutes(app: FastifyInstance, ctx: SandboxContext, type: MutableObjectType): void {
  const { store } = ctx;

  app.post(`/v1/${PATHS[type]}`, async (request, reply) => {
    const accountId = requireScope(request, 'crm.write');
    const input = parse(createSchemas[type] as z.ZodType<Draft>, request.body, `${type}`);
    if (type === 'appointment' && !input.time_zone) input.time_zone = store.get('user', accountId, String(input.owner_user_id))?.time_zone ?? 'UTC';
    checkReferences(store, accountId, type, input);
    const created = store.create(type, accountId, input as never);
    return reply.code(201).send(created);
  });

  app.patch<{ Params: { id: string } }>(`/v1/${PATHS[type]}/:id`, async (request) => {
    const accountId = requireScope(request, 'crm.write');
    const patch = parse(patchSchemas[type] as z.ZodType<Draft>, request.body, `${type} patch`);
    const current = store.get(type, accountId, request.params.id);
    if (!current) throw notFound(type, request.params.id);
    if (current.deleted_at) throw new ApiError(409, 'record_deleted', `${type} ${current.id} is deleted`);
    checkReferences(store, accountId, type, { ...current, ...patch });
    return store.update(type, accountId, current.id, patch as never);
  });

  app.delete<{ Params: { id: string } }>(`/v1/${PATHS[type]}/:id`, async (request) => {
    const accountId = requireScope(request, 'crm.write');
    const deleted = store.softDelete(type, accountId, request.params.id);
    if (!deleted) throw notFound(type, request.params.id);
    return deleted;
  });
}

export function registerResourceRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  for (const type of ['user', 'contact', 'appointment', 'activity'] as const) listRoute(app, ctx, type);
  for (const type of ['contact', 'appointment', 'activity'] as const) writeRoutes(app, ctx, type);
}

// /_sandbox: control plane for tests. Not part of Acme's real API, so no auth and no
// injected faults - tests must always be able to steer the sandbox.

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ALL_SCOPES } from '../auth.js';
import { BAD_DATA_KINDS, type FaultConfig } from '../faults.js';
import type { GeneratorOptions, GeneratorRun } from '../generator/generator.js';
import type { DeliveryStatus } from '../webhooks/dispatcher.js';
import type { SandboxContext } from './context.js';
import { ApiError, notFound } from './errors.js';
import { isoTimestamp, parse, timeZone } from './validation.js';

const rateLimitBody = z.strictObject({ capacity: z.number().int().min(1), refill_per_second: z.number().positive() });

const accountBody = z.strictObject({
  id: z.string().regex(/^acc_[A-Za-z0-9_]+$/).optional(),
  name: z.string().optional(),
  webhook_payload: z.enum(['full', 'thin']).optional(),
  rate_limit: rateLimitBody.nullable().optional(),
  api_key: z.string().regex(/^ak_\S+$/).optional(),
});

const accountPatch = z.strictObject({
  name: z.string().optional(),
  webhook_payload: z.enum(['full', 'thin']).optional(),
  rate_limit: rateLimitBody.nullable().optional(),
});

const clientBody = z.strictObject({
  account_id: z.string(),
  redirect_uris: z.array(z.url()).min(1),
  name: z.string().optional(),
});

const probability = z.number().min(0).max(1);

// Wire names (snake_case) for FaultConfig; one table so GET, PUT and PATCH agree.
const FAULT_FIELDS = {
  seed: ['seed', z.number().int()],
  duplicate: ['duplicate', probability],
  reorder: ['reorder', probability],
  reorder_window: ['reorderWindow', z.number().int().min(1)],
  reorder_max_hold_ms: ['reorderMaxHoldMs', z.number().int().min(0)],
  late: ['late', probability],
  late_ms: ['lateMs', z.number().int().min(0)],
  lose: ['lose', probability],
  outage_5xx: ['outage5xx', probability],
  refuse: ['refuse', probability],
  lost_answer: ['lostAnswer', probability],
  slow_ms: ['slowMs', z.number().int().min(0)],
  slow: ['slow', probability],
  bad_data: ['badData', probability],
  bad_data_kinds: ['badDataKinds', z.array(z.enum(BAD_DATA_KINDS as [string, ...string[]]))],
} as const;

const faultBody = z.strictObject(Object.fromEntries(Object.entries(FAULT_FIELDS).map(([k, [, s]]) => [k, s.optional()])));

export function faultsToWire(cfg: FaultConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(FAULT_FIELDS).map(([wire, [key]]) => [wire, cfg[key]]));
}

export function faultsFromWire(body: Record<string, unknown>): Partial<FaultConfig> {
  const out: Record<string, unknown> = {};
  for (const [wire, [key]] of Object.entries(FAULT_FIELDS)) if (body[wire] !== undefined) out[key] = body[wire];
  return out as Partial<FaultConfig>;
}

const seedBody = z.strictObject({
  account_id: z.string(),
  users: z.array(z.strictObject({ id: z.string().optional(), name: z.string(), email: z.email(), time_zone: timeZone })).default([]),
  contacts: z.array(z.record(z.string(), z.unknown())).default([]),
  appointments: z.array(z.record(z.string(), z.unknown())).default([]),
  activities: z.array(z.record(z.string(), z.unknown())).default([]),
});

const seedContact = z.strictObject({
  id: z.string().optional(),
  first_name: z.string(),
  last_name: z.string(),
  email: z.string().nullable().default(null),
  phone: z.string().nullable().default(null),
  company: z.string().nullable().default(null),
});

const seedAppointment = z.strictObject({
  id: z.string().optional(),
  owner_user_id: z.string(),
  contact_id: z.string(),
  title: z.string(),
  starts_at: isoTimestamp,
  ends_at: isoTimestamp,
  time_zone: timeZone,
  location: z.string().nullable().default(null),
  status: z.enum(['scheduled', 'cancelled', 'completed']).default('scheduled'),
});

const seedActivity = z.strictObject({
  id: z.string().optional(),
  type: z.enum(['email', 'call', 'meeting', 'note']),
  direction: z.enum(['inbound', 'outbound']),
  user_id: z.string(),
  contact_id: z.string(),
  subject: z.string(),
  occurred_at: isoTimestamp,
  duration_seconds: z.number().int().nullable().default(null),
});

const deliveriesQuery = z.object({
  event_id: z.string().optional(),
  account_id: z.string().optional(),
  status: z.enum(['queued', 'held', 'delayed', 'in_flight', 'retry_scheduled', 'succeeded', 'failed', 'lost', 'cancelled']).optional(),
});

const generatorBody = z.strictObject({
  seed: z.number().int().optional(),
  accounts: z.number().int().min(1).max(1000).optional(),
  users: z.number().int().min(1).max(1000).optional(),
  contacts: z.number().int().min(1).max(100_000).optional(),
  events: z.number().int().min(0).optional(),
  rate: z.number().min(0).optional(),
  start_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
  days: z.number().int().min(1).max(366).optional(),
  webhook_payload: z.enum(['full', 'thin']).optional(),
  redirect_uris: z.array(z.url()).optional(),
  webhook_url: z.url({ protocol: /^https?$/ }).optional(),
});

export function generatorOptionsFromWire(b: z.infer<typeof generatorBody>): Partial<GeneratorOptions> {
  const out: Partial<GeneratorOptions> = {};
  if (b.seed !== undefined) out.seed = b.seed;
  if (b.accounts !== undefined) out.accounts = b.accounts;
  if (b.users !== undefined) out.users = b.users;
  if (b.contacts !== undefined) out.contacts = b.contacts;
  if (b.events !== undefined) out.events = b.events;
  if (b.rate !== undefined) out.rate = b.rate;
  if (b.start_date !== undefined) out.startDate = b.start_date;
  if (b.days !== undefined) out.days = b.days;
  if (b.webhook_payload !== undefined) out.webhookPayload = b.webhook_payload;
  if (b.redirect_uris !== undefined) out.redirectUris = b.redirect_uris;
  if (b.webhook_url !== undefined) out.webhookUrl = b.webhook_url;
  return out;
}

export interface AdminHooks {
  reset(seed?: number): void;
  provisionAccount(input: z.infer<typeof accountBody>): { account: unknown; api_key: string };
  startGenerator(options: Partial<GeneratorOptions>): GeneratorRun;
  generator(): GeneratorRun | null;
}

export function registerAdminRoutes(app: FastifyInstance, ctx: SandboxContext, hooks: AdminHooks): void {
  const { store, auth, faults, dispatcher } = ctx;

  app.post('/_sandbox/reset', async (request) => {
    const body = parse(z.strictObject({ seed: z.number().int().optional() }), request.body, 'reset');
    hooks.reset(body.seed);
    return { ok: true };
  });

  app.post('/_sandbox/accounts', async (request, reply) => {
    const body = parse(accountBody, request.body, 'account');
    if (body.id && store.getAccount(body.id)) throw new ApiError(409, 'conflict', `account ${body.id} exists`);
    return reply.code(201).send(hooks.provisionAccount(body));
  });

  app.get('/_sandbox/accounts', async () => ({ data: store.listAccounts() }));

  app.patch<{ Params: { id: string } }>('/_sandbox/accounts/:id', async (request) => {
    const body = parse(accountPatch, request.body, 'account patch');
    const updated = store.updateAccount(request.params.id, body);
    if (!updated) throw notFound('account', request.params.id);
    return updated;
  });

  app.post<{ Params: { id: string } }>('/_sandbox/accounts/:id/api-keys', async (request, reply) => {
    const body = parse(z.strictObject({ api_key: z.string().regex(/^ak_\S+$/).optional(), scopes: z.array(z.enum(ALL_SCOPES)).optional() }), request.body, 'api key');
    if (!store.getAccount(request.params.id)) throw notFound('account', request.params.id);
    return reply.code(201).send({ account_id: request.params.id, api_key: auth.createApiKey(request.params.id, body.api_key, body.scopes) });
  });

  // Writes received per Idempotency-Key: how tests prove no change was applied twice.
  app.get('/_sandbox/writes', async (request) => {
    const q = parse(z.object({ account_id: z.string().optional() }), request.query, 'query');
    return { data: ctx.idempotency.stats(q.account_id) };
  });

  app.post<{ Params: { id: string } }>('/_sandbox/accounts/:id/expire-tokens', async (request) => {
    if (!store.getAccount(request.params.id)) throw notFound('account', request.params.id);
    auth.expireAccessTokens(request.params.id);
    return { ok: true };
  });

  app.post('/_sandbox/oauth-clients', async (request, reply) => {
    const body = parse(clientBody, request.body, 'oauth client');
    if (!store.getAccount(body.account_id)) throw notFound('account', body.account_id);
    return reply.code(201).send(auth.createClient(body));
  });

  app.post('/_sandbox/seed', async (request, reply) => {
    const body = parse(seedBody, request.body, 'seed');
    const accountId = body.account_id;
    if (!store.getAccount(accountId)) throw notFound('account', accountId);
    const users = body.users.map((u) => store.createUser(accountId, u));
    const contacts = body.contacts.map((c) => store.create('contact', accountId, parse(seedContact, c, 'seed contact')));
    // Seeding is deliberately unchecked (no reference validation): tests use it to plant odd data.
    const appointments = body.appointments.map((a) => store.create('appointment', accountId, parse(seedAppointment, a, 'seed appointment')));
    const activities = body.activities.map((a) => store.create('activity', accountId, parse(seedActivity, a, 'seed activity')));
    return reply.code(201).send({ users, contacts, appointments, activities });
  });

  app.get('/_sandbox/faults', async () => faultsToWire(faults.config()));
  app.put('/_sandbox/faults', async (request) => faultsToWire(faults.replace(faultsFromWire(parse(faultBody, request.body, 'faults')))));
  app.patch('/_sandbox/faults', async (request) => faultsToWire(faults.set(faultsFromWire(parse(faultBody, request.body, 'faults')))));

  app.get('/_sandbox/deliveries', async (request) => {
    const q = parse(deliveriesQuery, request.query, 'query');
    const filter: { eventId?: string; accountId?: string; status?: DeliveryStatus } = {};
    if (q.event_id) filter.eventId = q.event_id;
    if (q.account_id) filter.accountId = q.account_id;
    if (q.status) filter.status = q.status;
    return { data: dispatcher.deliveries(filter), pending: dispatcher.pendingCount() };
  });

  app.get('/_sandbox/deliveries/sent', async () => ({ data: dispatcher.sent() }));

  app.post('/_sandbox/deliveries/flush', async () => {
    dispatcher.flush();
    return { pending: dispatcher.pendingCount() };
  });

  app.post('/_sandbox/deliveries/wait', async (request) => {
    const body = parse(z.strictObject({ timeout_ms: z.number().int().min(0).max(600_000).default(10_000) }), request.body, 'wait');
    const idle = await dispatcher.waitForIdle(body.timeout_ms);
    return { idle, pending: dispatcher.pendingCount() };
  });

  app.get('/_sandbox/events', async (request) => {
    const q = parse(z.object({ account_id: z.string().optional() }), request.query, 'query');
    return { data: dispatcher.events(q.account_id).map((e) => ({ ...e.event, subscription_ids: e.subscriptions })) };
  });

  app.get('/_sandbox/bad-data', async () => ({ data: store.badRecords() }));

  const idleStatus = { state: 'idle', seed: faults.config().seed, events_done: 0, events_total: 0, accounts: [] };

  app.post('/_sandbox/generator', async (request, reply) => {
    const run = hooks.startGenerator(generatorOptionsFromWire(parse(generatorBody, request.body, 'generator request')));
    return reply.code(202).send(run.status());
  });

  app.get('/_sandbox/generator', async () => hooks.generator()?.status() ?? idleStatus);

  app.post('/_sandbox/generator/stop', async () => {
    const run = hooks.generator();
    run?.stop();
    return run?.status() ?? idleStatus;
  });

  app.get('/_sandbox/truth', async () => {
    const run = hooks.generator();
    if (!run) throw new ApiError(404, 'not_found', 'No generator run yet.');
    if (run.status().state === 'running') throw new ApiError(409, 'generator_running', 'The truth is final only once the run has finished.');
    return run.truth();
  });
}

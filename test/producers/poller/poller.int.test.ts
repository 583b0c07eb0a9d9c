import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { KafkaProducer } from '../../../src/kafka/index.js';
import { acmeClientsFor } from '../../../src/acme/client.js';

import { createLogger } from '../../../src/logger.js';
import { createPolling } from '../../../src/processes/admin.js';
import { createCursorStore } from '../../../src/producers/poller/cursor-store.js';
import { createPoller } from '../../../src/producers/poller/poller.js';
import { latestBackfill, runBackfill } from '../../../src/producers/poller/backfill.js';
import { createEventPublisher, type EventPublisher } from '../../../src/producers/publisher.js';
import type { TenantRepository } from '../../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { createApiKeyTenant, seedAccount, startSandbox, tenantsOf, type RunningSandbox } from '../../acme/sandbox-tenants.js';
import { startCollector, type Collected, type Collector } from './kafka-collector.js';
import { sandboxOutbound } from '../../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let producer: KafkaProducer;
let publisher: EventPublisher;
let polling: FastifyInstance;
let collector: Collector;
const RETRY = { initialDelayMs: 10, maxDelayMs: 200, retries: 20, deadlineMs: 20_000 };

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  env = await startSandbox();
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  polling = await createPolling({ config: stack.config, logger: createLogger({ level: 'silent', name: 'poller-test' }), runtime: stack });
  ({ kafkaProducer: producer, eventPublisher: publisher } = polling);
  collector = await startCollector(stack);
});
afterAll(async () => {
  await collector?.close();
  await polling?.close();
  await env?.sandbox.close();
  await stack?.close();
});

const clients = () => acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() });
const poller = (pub: EventPublisher = publisher) => createPoller({ pool: stack.pool, tenants, publisher: pub, clientFor: clients(), pageSize: 2 });
const ofTenant = (tenantId: string, events: Collected[]) => events.filter((e) => e.value.tenant_id === tenantId);
const ids = (events: Collected[]) => new Set(events.map((e) => e.value.acme_id));

describe('polling Acme into Kafka', () => {
  it('polls several active tenants at once into Avro on Kafka, users into acme_users, and skips a paused tenant', async () => {
    const a = await createApiKeyTenant(env, tenants, 'poll-a');
    const b = await createApiKeyTenant(env, tenants, 'poll-b');
    const paused = await createApiKeyTenant(env, tenants, 'poll-paused');
    const seededA = seedAccount(env.sandbox, a.accountId, { contacts: 3, appointments: 3, activities: 3 });
    const seededB = seedAccount(env.sandbox, b.accountId, { contacts: 2, appointments: 1, activities: 2 });
    seedAccount(env.sandbox, paused.accountId);
    await tenants.setStatus(paused.tenantId, 'paused');

    const results = await poller().runDue();
    expect(results.filter((r) => r.tenantId.startsWith('poll-')).map((r) => [r.tenantId, r.error ?? 'ok']).sort()).toEqual([['poll-a', 'ok'], ['poll-b', 'ok']]);

    const expectedA = [...seededA.contacts, ...seededA.appointments, ...seededA.activities].map((r) => r.id);
    const expectedB = [...seededB.contacts, ...seededB.appointments, ...seededB.activities].map((r) => r.id);
    await collector.until((ev) => expectedA.every((id) => ids(ofTenant('poll-a', ev)).has(id)) && expectedB.every((id) => ids(ofTenant('poll-b', ev)).has(id)), 'both tenants\' records');
    const fromA = ofTenant('poll-a', collector.events);
    expect(new Set(fromA.map((e) => e.value.source))).toEqual(new Set(['POLL']));
    expect(fromA.find((e) => e.value.acme_id === seededA.appointments[0]!.id)).toMatchObject({
      topic: stack.topics.appointments, key: `poll-a:${seededA.appointments[0]!.id}`, schemaId: stack.schemaIds.appointments,
      value: { title: 'Meeting 0', status: 'SCHEDULED', operation: 'UPSERT', acme_version: 1 },
    });
    expect(new Set(fromA.map((e) => e.value.event_id)).size).toBe(fromA.length);
    expect(ofTenant('poll-paused', collector.events)).toEqual([]);
    expect(await tenants.getAcmeUser('poll-a', seededA.user.id)).toMatchObject({ email: seededA.user.email, timeZone: 'Europe/Berlin' });
    expect(await tenants.getAcmeUser('poll-paused', seededA.user.id)).toBeUndefined();
    const cursor = await createCursorStore(stack.pool).get('poll-a', 'activity');
    expect(cursor.updatedSince).toBe(seededA.activities.at(-1)!.updated_at);
  });

  it('reads only what changed since the cursor on the next poll, re-reading at most the boundary record', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-incr');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 5, appointments: 0, activities: 0 });
    const p = poller();
    await p.pollTenant(t.tenantId);
    await collector.until((ev) => ofTenant(t.tenantId, ev).length >= 5, 'the first poll');
    const changed = env.sandbox.store.update('contact', t.accountId, seeded.contacts[1]!.id, { phone: '+49 30 1234' })!;
    const second = await p.pollTenant(t.tenantId);
    expect(second.byType.contact).toBeLessThanOrEqual(2);
    await collector.until((ev) => ofTenant(t.tenantId, ev).some((e) => e.value.acme_version === 2), 'the changed contact');
    expect(ofTenant(t.tenantId, collector.events).find((e) => e.value.acme_version === 2)!.value).toMatchObject({ acme_id: changed.id, phone: '+49 30 1234' });
  });

  it('keeps the cursor where Kafka last acknowledged while Kafka is unreachable, and loses nothing when it is back', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-down');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 4, appointments: 2, activities: 2 });
    const closed = stack.kafka.producer(); // never connected: every send fails
    const deadPublisher = createEventPublisher({ producer: closed, codec: stack.codec, topics: stack.topics, lingerMs: 0, ackTimeoutMs: 2_000 });
    const failed = await poller(deadPublisher).pollTenant(t.tenantId);
    expect(failed.error).toBeDefined();
    const cursors = createCursorStore(stack.pool);
    for (const type of ['contact', 'appointment', 'activity'] as const) expect((await cursors.get(t.tenantId, type)).updatedSince).toBeNull();

    const ok = await poller().pollTenant(t.tenantId);
    expect(ok.error).toBeUndefined();
    const expected = [...seeded.contacts, ...seeded.appointments, ...seeded.activities].map((r) => r.id);
    await collector.until((ev) => expected.every((id) => ids(ofTenant(t.tenantId, ev)).has(id)), 'every record after Kafka came back');
    expect((await cursors.get(t.tenantId, 'contact')).updatedSince).toBe(seeded.contacts.at(-1)!.updated_at);
  });

  it('moves the cursor page by page: Kafka lost after the first page leaves it at that page, and the next poll resumes from there', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-midway');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 5, appointments: 0, activities: 0 });
    const closed = stack.kafka.producer();
    const dead = createEventPublisher({ producer: closed, codec: stack.codec, topics: stack.topics, lingerMs: 0, ackTimeoutMs: 2_000 });
    let pages = 0;
    // The real broker for the first page, then a producer that cannot reach it.
    const flaky: EventPublisher = { publish: (events) => (pages++ === 0 ? publisher : dead).publish(events), close: async () => undefined };
    const p = createPoller({ pool: stack.pool, tenants, publisher: flaky, clientFor: clients(), pageSize: 2 });
    const failed = await p.pollTenant(t.tenantId);
    expect(failed.error).toMatch(/KAFKA_UNAVAILABLE|disconnected/i);
    const cursors = createCursorStore(stack.pool);
    expect((await cursors.get(t.tenantId, 'contact')).updatedSince).toBe(seeded.contacts[1]!.updated_at);
    await poller().pollTenant(t.tenantId);
    expect((await cursors.get(t.tenantId, 'contact')).updatedSince).toBe(seeded.contacts[4]!.updated_at);
    await collector.until((ev) => seeded.contacts.every((c) => ids(ofTenant(t.tenantId, ev)).has(c.id)), 'every contact once Kafka is back');
  });

  it('polls a tenant again only after its poll interval, and reconciles after its reconcile interval', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-sched', { settings: { pollIntervalSeconds: 60, reconcileIntervalSeconds: 600 } });
    let clock = Date.parse('2026-11-25T12:00:00Z');
    const p = createPoller({ pool: stack.pool, tenants, publisher, clientFor: clients(), now: () => clock });
    const passes = async () => (await p.runDue()).filter((r) => r.tenantId === t.tenantId).map((r) => r.source);
    expect(await passes()).toEqual(['POLL']);
    clock += 30_000;
    expect(await passes()).toEqual([]);
    clock += 30_000;
    expect(await passes()).toEqual(['POLL']);
    clock += 540_000;
    expect(await passes()).toEqual(['POLL', 'RECONCILE']);
    await tenants.setStatus(t.tenantId, 'paused');
    clock += 600_000;
    expect(await passes()).toEqual([]);
  });

  it('polls through Acme outages and refused connections without losing a record', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-flaky');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 6, appointments: 3, activities: 3 });
    env.sandbox.faults.set({ seed: 11, outage5xx: 0.3, refuse: 0.1 });
    let result;
    try {
      result = await poller().pollTenant(t.tenantId);
    } finally {
      env.sandbox.faults.set({ outage5xx: 0, refuse: 0 });
    }
    expect(result.error).toBeUndefined();
    const expected = [...seeded.contacts, ...seeded.appointments, ...seeded.activities].map((r) => r.id);
    await collector.until((ev) => expected.every((id) => ids(ofTenant(t.tenantId, ev)).has(id)), 'every record despite faults');
  });

  it('reconciliation finds a change whose webhook was lost and a soft delete, as RECONCILE events', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-recon');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 3, appointments: 2, activities: 1 });
    const p = poller();
    await p.pollTenant(t.tenantId);
    // No webhook reaches us for these: only reconciliation (or the next poll) can see them.
    const moved = env.sandbox.store.update('appointment', t.accountId, seeded.appointments[0]!.id, { starts_at: '2026-12-02T09:00:00.000Z', ends_at: '2026-12-02T10:00:00.000Z' })!;
    const deleted = env.sandbox.store.softDelete('contact', t.accountId, seeded.contacts[2]!.id)!;
    const result = await p.reconcileTenant(t.tenantId);
    expect(result.error).toBeUndefined();
    const reconciled = () => ofTenant(t.tenantId, collector.events).filter((e) => e.value.source === 'RECONCILE');
    await collector.until(() => reconciled().some((e) => e.value.acme_id === deleted.id) && reconciled().some((e) => e.value.acme_id === moved.id && e.value.acme_version === 2), 'the reconciled records');
    expect(reconciled().find((e) => e.value.acme_id === deleted.id)!.value).toMatchObject({ operation: 'DELETE', acme_version: 2 });
    expect(reconciled().find((e) => e.value.acme_id === moved.id && e.value.acme_version === 2)!.value.starts_at).toBe(Date.parse('2026-12-02T09:00:00.000Z'));
  });

  it('backfills a tenant since a date with recorded progress and moves the poll cursors forward', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-backfill');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 5, appointments: 3, activities: 4 });
    const seen: number[] = [];
    const progress = await runBackfill(
      { pool: stack.pool, tenants, publisher, clientFor: clients(), pageSize: 2 },
      { tenantId: t.tenantId, since: '2020-01-01', onProgress: (p) => seen.push(p.records) },
    );
    expect(progress).toMatchObject({ status: 'succeeded', records: 1 + 5 + 3 + 4, byType: { user: 1, contact: 5, appointment: 3, activity: 4 }, error: null });
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(await latestBackfill(stack.pool, t.tenantId)).toEqual(progress);
    const expected = [...seeded.contacts, ...seeded.appointments, ...seeded.activities].map((r) => r.id);
    await collector.until((ev) => expected.every((id) => ids(ofTenant(t.tenantId, ev)).has(id)), 'the backfilled records');
    expect(new Set(ofTenant(t.tenantId, collector.events).map((e) => e.value.source))).toEqual(new Set(['BACKFILL']));
    expect((await createCursorStore(stack.pool).get(t.tenantId, 'appointment')).updatedSince).toBe(seeded.appointments.at(-1)!.updated_at);
  });

  it('records a failed backfill with its error and no credential in it', async () => {
    const t = await createApiKeyTenant(env, tenants, 'poll-bf-fail');
    await tenants.updateSecrets(t.tenantId, (s) => ({ ...s, apiKey: 'ak_canary_backfill_secret' }));
    const progress = await runBackfill({ pool: stack.pool, tenants, publisher, clientFor: clients() }, { tenantId: t.tenantId, since: null });
    expect(progress.status).toBe('failed');
    expect(progress.error).toMatch(/ACME_AUTH_FAILED/);
    expect(progress.error).not.toContain('canary_backfill_secret');
  });
});

describe('polled records that break the validation contract (issue 12)', () => {
  it('bug: every poll and reconciliation re-read the same bad record — it is kept in the DLQ once per version and reason, and the cursor moves on', async () => {
    const { createDeadLetterWriter } = await import('../../../src/dlq/dead-letters.js');
    const { readDlq } = await import('../../../src/dlq/index.js');
    const t = await createApiKeyTenant(env, tenants, 'poll-contract');
    const good = env.sandbox.store.create('contact', t.accountId, { first_name: 'Good', last_name: 'One', email: null, phone: null, company: 'Fine' });
    const bad = env.sandbox.store.create('contact', t.accountId, { first_name: 'Bad', last_name: 'One', email: null, phone: null, company: 'Acme\u0000Corp' });
    const deadLetters = createDeadLetterWriter({ pool: stack.pool, producer, topic: stack.topics.dlq, recordedBy: 'poller' });
    const p = createPoller({ pool: stack.pool, tenants, publisher, clientFor: clients(), pageSize: 2, deadLetters });
    for (let pass = 0; pass < 3; pass++) expect((await p.reconcileTenant(t.tenantId)).error).toBeUndefined();
    expect((await p.pollTenant(t.tenantId)).error).toBeUndefined();
    await collector.until((ev) => ids(ofTenant(t.tenantId, ev)).has(good.id), 'the good contact');
    expect(ids(ofTenant(t.tenantId, collector.events)).has(bad.id)).toBe(false);
    const dlq = await readDlq(stack.kafka, stack.topics.dlq, { tenantId: t.tenantId });
    expect(dlq.map((r) => [r.error.acmeId, r.error.stage, r.error.message])).toEqual([[bad.id, 'poll', 'contact.company: control character U+0000 at 4']]);
    expect(JSON.parse(dlq[0]!.value!.toString('utf8'))).toMatchObject({ id: bad.id, company: 'Acme\u0000Corp' });
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KafkaProducer } from '../../src/kafka/index.js';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { createAdminApp } from '../../src/admin/app.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { toDlqMessage } from '../../src/consumers/runtime/dlq.js';
import { publishDlq } from '../../src/dlq/records.js';
import type { InboundRecord } from '../../src/consumers/runtime/types.js';
import { DecodeError, ValidationError } from '../../src/errors/index.js';

import { toOutboundEvent } from '../../src/transforms/acme-to-event.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { tenantsOf } from '../acme/sandbox-tenants.js';
import { sandboxOutbound } from '../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let tenants: TenantRepository;
let producer: KafkaProducer;
let app: FastifyInstance;
let operator: string;
let tokenA: string;

const call = (token: string, opts: InjectOptions) => app.inject({ ...opts, headers: { authorization: `Bearer ${token}`, ...opts.headers } });

/** Two DLQ records of tenant dlq-a (a validation failure, bytes that do not decode) and one of dlq-b. */
async function seedDlq(): Promise<void> {
  const meta = { groupId: 'g-calendar', clientId: 'c-1', attempts: 1, now: Date.parse('2026-11-25T12:00:00Z') };
  const appointment = (tenantId: string, acmeId: string) => toOutboundEvent(
    'appointment',
    { id: acmeId, owner_user_id: 'usr_1', contact_id: 'con_1', title: 'T', starts_at: null as unknown as string, ends_at: '2026-11-26T10:00:00Z', time_zone: 'UTC', location: null, status: 'scheduled', version: 1, created_at: '2026-11-25T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: null },
    { tenantId, source: 'WEBHOOK', receivedAt: Date.now(), eventId: randomUUID(), correlationId: null },
  );
  const record = async (tenantId: string, acmeId: string, offset: string, over: Partial<InboundRecord> = {}): Promise<InboundRecord> => {
    const event = appointment(tenantId, acmeId);
    return {
      topic: stack.topics.appointments, kind: 'appointments', partition: 0, offset, key: event.key, value: event.value,
      schemaId: stack.schemaIds.appointments!, headers: {}, timestamp: Date.now(), raw: await stack.codec.encode('appointments', event.value), ...over,
    };
  };
  const noStart = new ValidationError('appointment has no start', { stage: 'validate' });
  // Through the DLQ's index, as every publisher of DLQ records does (the admin API reads the index).
  await publishDlq(producer, stack.pool, stack.topics.dlq, [
      toDlqMessage({ record: await record('dlq-a', 'apt_a1', '1'), error: noStart }, meta),
      toDlqMessage({ record: await record('dlq-a', 'act_x', '2', { topic: stack.topics.activities, kind: 'activities', key: 'dlq-a:act_x', value: null, raw: Buffer.from('<script>not avro</script>'), schemaId: -1 }), error: new DecodeError('Not a Confluent-framed Avro record') }, meta),
      toDlqMessage({ record: await record('dlq-b', 'apt_b1', '3'), error: noStart }, meta),
  ]);
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  producer = stack.kafka.producer();
  await producer.connect();
  app = createAdminApp({
    acmeOutbound: sandboxOutbound(),
    pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/',
    dlq: { kafka: stack.kafka, codec: stack.codec, producer, topic: stack.topics.dlq, allowedTopics: [stack.topics.appointments, stack.topics.activities, stack.topics.contacts] },
  });
  const store = createAdminTokenStore(stack.pool);
  operator = (await store.issue({ tenantId: null })).token;
  for (const id of ['dlq-a', 'dlq-b']) await tenants.create({ id, name: id, acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', secrets: { webhookSecrets: [] } });
  tokenA = (await store.issue({ tenantId: 'dlq-a' })).token;
  await seedDlq();
});
afterAll(async () => {
  await app?.close();
  await producer?.disconnect();
  await stack?.close();
});

describe('the DLQ over the admin API', () => {
  it('lists only the tenant’s own records, newest first, with their error context and a count', async () => {
    const res = await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.count).toBe(2);
    expect(body.data.map((r: { error: { acmeId: string } }) => r.error.acmeId)).toEqual(['act_x', 'apt_a1']);
    expect(body.data[1]).toMatchObject({ error: { tenantId: 'dlq-a', code: 'VALIDATION_FAILED', stage: 'validate', sourceTopic: stack.topics.appointments, sourceOffset: '1' }, replayCount: 0 });
    expect(body.data[1]).not.toHaveProperty('value');
  });

  it('filters by code and stage, and refuses a malformed filter naming it', async () => {
    const byCode = await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq?code=DECODE_FAILED' });
    expect(byCode.json().data.map((r: { error: { acmeId: string } }) => r.error.acmeId)).toEqual(['act_x']);
    const byStage = await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq?stage=validate' });
    expect(byStage.json().count).toBe(1);
    const future = await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq?since=2999-01-01T00:00:00Z' });
    expect(future.json().count).toBe(0);
    const bad = await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq?since=yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('querystring.since');
  });

  it('shows one record with its payload decoded, or the raw text and why it did not decode', async () => {
    const [bytes, good] = (await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq' })).json().data;
    const shown = (await call(tokenA, { method: 'GET', url: `/admin/tenants/dlq-a/dlq/${good.id}` })).json();
    expect(shown).toMatchObject({ id: good.id, payload: { acme_id: 'apt_a1', tenant_id: 'dlq-a', starts_at: null }, decodeError: null, error: { message: 'appointment has no start' } });
    const raw = (await call(tokenA, { method: 'GET', url: `/admin/tenants/dlq-a/dlq/${encodeURIComponent(bytes.id)}` })).json();
    expect(raw.payload).toBe('<script>not avro</script>');
    expect(raw.decodeError).toMatch(/Confluent-framed/);
  });

  it('answers a tenant token 404 for another tenant’s records and for another tenant, as for ones that do not exist', async () => {
    const all = await call(operator, { method: 'GET', url: '/admin/tenants/dlq-b/dlq' });
    const foreignId = all.json().data[0].id;
    const foreignRecord = await call(tokenA, { method: 'GET', url: `/admin/tenants/dlq-a/dlq/${foreignId}` });
    const missingRecord = await call(tokenA, { method: 'GET', url: '/admin/tenants/dlq-a/dlq/0:999999' });
    expect(foreignRecord.statusCode).toBe(404);
    expect(foreignRecord.body.replace(foreignId, 'X')).toBe(missingRecord.body.replace('0:999999', 'X'));
    for (const [method, path, payload] of [['GET', '/dlq', undefined], ['GET', `/dlq/${foreignId}`, undefined], ['POST', '/dlq/replay', { dryRun: true }]] as const) {
      const foreign = await call(tokenA, { method, url: `/admin/tenants/dlq-b${path}`, ...(payload ? { payload } : {}) });
      const missing = await call(tokenA, { method, url: `/admin/tenants/dlq-nope${path}`, ...(payload ? { payload } : {}) });
      expect(foreign.statusCode, `${method} ${path}`).toBe(404);
      expect(foreign.json().error.code).toBe('UNKNOWN_TENANT');
      expect(foreign.body.replace('dlq-b', 'X')).toBe(missing.body.replace('dlq-nope', 'X'));
    }
    // IDs of another tenant's records in the selection are not replayed either.
    const sneaky = await call(tokenA, { method: 'POST', url: '/admin/tenants/dlq-a/dlq/replay', payload: { ids: [foreignId], dryRun: true } });
    expect(sneaky.json()).toMatchObject({ total: 0, results: [] });
  });

  it('replays a selection after a dry run: the dry run sends nothing, the replay sends the record once', async () => {
    const sourceCount = async () => (await stack.admin.fetchTopicOffsets(stack.topics.appointments)).reduce((n, p) => n + Number(p.high), 0);
    const before = await sourceCount();
    const dry = await call(tokenA, { method: 'POST', url: '/admin/tenants/dlq-a/dlq/replay', payload: { code: 'VALIDATION_FAILED', dryRun: true } });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dryRun: true, total: 1, byOutcome: { 'would-replay': 1, replayed: 0 } });
    expect(await sourceCount()).toBe(before);

    const done = await call(tokenA, { method: 'POST', url: '/admin/tenants/dlq-a/dlq/replay', payload: { code: 'VALIDATION_FAILED' } });
    expect(done.json()).toMatchObject({ dryRun: false, total: 1, byOutcome: { replayed: 1 }, results: [{ outcome: 'replayed', target: stack.topics.appointments }] });
    expect(await sourceCount()).toBe(before + 1);
    const again = await call(tokenA, { method: 'POST', url: '/admin/tenants/dlq-a/dlq/replay', payload: { code: 'VALIDATION_FAILED' } });
    expect(again.json().byOutcome).toMatchObject({ replayed: 0, 'already-replayed': 1 });
    expect(await sourceCount()).toBe(before + 1);
    // The other tenant's identical failure stays where it is.
    expect((await stack.pool.query("SELECT tenant_id FROM dlq_replays")).rows.map((r) => r.tenant_id)).toEqual(['dlq-a']);
  });

  it('refuses a replay body with an unknown field or a malformed ID, naming it', async () => {
    const extra = await call(tokenA, { method: 'POST', url: '/admin/tenants/dlq-a/dlq/replay', payload: { again: true } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error.field).toBe('body.again');
    const badId = await call(tokenA, { method: 'POST', url: '/admin/tenants/dlq-a/dlq/replay', payload: { ids: ['nope'] } });
    expect(badId.statusCode).toBe(400);
    expect(badId.json().error.field).toBe('body.ids.0');
  });

  it('answers 503 when the process has no Kafka for the DLQ', async () => {
    const bare = createAdminApp({ pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/', acmeOutbound: sandboxOutbound() });
    try {
      const res = await bare.inject({ method: 'GET', url: '/admin/tenants/dlq-a/dlq', headers: { authorization: `Bearer ${tokenA}` } });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.code).toBe('DLQ_UNAVAILABLE');
    } finally {
      await bare.close();
    }
  });
});

import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSecret } from '../../../sandbox/src/webhooks/signing.js';
import type { AcmeAppointmentEvent, AcmeContactEvent } from '../../../src/transforms/types.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import {
  addTenant, consume, contactObject, eventId, metricValue, secretsOf, sign, sizes, startEdge, tenantId, webhookEvent, type TestEdge,
} from './harness.js';

const MAX_BODY = 4096;
let stack: IsolatedStack;
let edge: TestEdge;
const tenantA = tenantId();
const tenantB = tenantId();
const paused = tenantId();

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'), { WEBHOOK_MAX_BODY_BYTES: String(MAX_BODY), PRODUCER_LINGER_MS: '20' });
  edge = await startEdge(stack);
  await addTenant(edge, { id: tenantA });
  await addTenant(edge, { id: tenantB });
  await addTenant(edge, { id: paused });
  await edge.app.tenantRepository.setStatus(paused, 'paused');
});
afterAll(async () => {
  await edge?.app.close();
  await stack?.close();
});

const post = (tenant: string, delivery: { headers: Record<string, string>; body: string | Buffer | Readable }) =>
  edge.app.inject({ method: 'POST', url: `/webhooks/acme/${tenant}`, headers: delivery.headers, payload: delivery.body });

function appointmentObject(id: string, version: number, deleted = false) {
  return {
    id, owner_user_id: 'usr_1', contact_id: 'con_1', title: 'Demo', starts_at: '2025-03-07T10:00:00.000Z', ends_at: '2025-03-07T11:00:00.000Z',
    time_zone: 'Europe/Berlin', location: null, status: 'scheduled', version, created_at: '2025-03-06T09:00:00.000Z',
    updated_at: '2025-03-06T09:10:00.000Z', deleted_at: deleted ? '2025-03-06T09:10:00.000Z' : null,
  };
}

describe('POST /webhooks/acme/:tenant', () => {
  it('publishes a correctly signed delivery as Avro with tenant, Acme ID, version, operation and the correlation ID header', async () => {
    const [secret] = await secretsOf(edge, tenantA);
    const contact = webhookEvent(eventId(), 'contact.updated', { object: contactObject('con_route1', 3) });
    const deletion = webhookEvent(eventId(), 'appointment.deleted', { object: appointmentObject('apt_route1', 5, true) });
    for (const event of [contact, deletion]) {
      const res = await post(tenantA, sign(event, [secret!]));
      expect(res.statusCode).toBe(200);
    }
    const records = await consume<AcmeContactEvent | AcmeAppointmentEvent>(stack, stack.kafkajs, [stack.topics.contacts, stack.topics.appointments], 2);
    const byId = new Map(records.map((r) => [r.value.acme_id, r]));
    expect(byId.get('con_route1')).toMatchObject({
      topic: stack.topics.contacts, key: `${tenantA}:con_route1`, headers: { 'correlation-id': contact.id },
      value: { tenant_id: tenantA, acme_id: 'con_route1', acme_version: 3, operation: 'UPSERT', source: 'WEBHOOK', correlation_id: contact.id, first_name: 'Ada' },
    });
    expect(byId.get('apt_route1')).toMatchObject({
      topic: stack.topics.appointments, key: `${tenantA}:apt_route1`, headers: { 'correlation-id': deletion.id },
      value: { tenant_id: tenantA, acme_id: 'apt_route1', acme_version: 5, operation: 'DELETE', correlation_id: deletion.id },
    });
  });

  it('accepts a gzip-compressed delivery whose signature covers the decompressed JSON', async () => {
    const [secret] = await secretsOf(edge, tenantA);
    const signed = sign(webhookEvent(eventId(), 'contact.created', { object: contactObject('con_gzip', 1) }), [secret!]);
    const before = await sizes(stack);
    const res = await post(tenantA, { headers: { ...signed.headers, 'content-encoding': 'gzip' }, body: gzipSync(signed.body) });
    expect(res.statusCode).toBe(200);
    expect((await sizes(stack)).contacts).toBe(before.contacts! + 1);
  });

  it('answers a redelivery of an accepted webhook-id with 200 and does not publish it again', async () => {
    const [secret] = await secretsOf(edge, tenantA);
    const delivery = sign(webhookEvent(eventId(), 'contact.updated', { object: contactObject('con_dup', 2) }), [secret!]);
    const before = await sizes(stack);
    expect((await post(tenantA, delivery)).statusCode).toBe(200);
    const again = await post(tenantA, delivery);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ received: true, duplicate: true });
    expect((await sizes(stack)).contacts).toBe(before.contacts! + 1);
    expect(await metricValue(edge.metrics, 'acme_sync_webhooks_total', { outcome: 'duplicate' })).toBeGreaterThanOrEqual(1);
  });

  describe('refusals: each gets its status and publishes nothing', () => {
    const valid = () => webhookEvent(eventId(), 'contact.updated', { object: contactObject('con_refused', 1) });
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024, 0x20)); // 8 MiB of spaces, ~8 KiB compressed

    const cases: Array<[string, () => Promise<{ tenant: string; headers: Record<string, string>; body: string | Buffer | Readable }>, number, string]> = [
      ['a signature made with a secret the tenant does not have (forged)', async () => ({ tenant: tenantA, ...sign(valid(), [createSecret()]) }), 401, 'bad_signature'],
      ['a body changed after signing (tampered)', async () => {
        const signed = sign(valid(), await secretsOf(edge, tenantA));
        return { tenant: tenantA, headers: signed.headers, body: signed.body.replace('Ada', 'Eve') };
      }, 401, 'bad_signature'],
      ['a signature older than the tolerance (stale)', async () => ({ tenant: tenantA, ...sign(valid(), await secretsOf(edge, tenantA), { timestampSeconds: Math.floor(Date.now() / 1000) - 301 }) }), 401, 'stale'],
      ['a delivery without the signature headers', async () => ({ tenant: tenantA, headers: { 'content-type': 'application/json' }, body: JSON.stringify(valid()) }), 401, 'bad_signature'],
      ["a delivery signed with another tenant's secret (cross-tenant)", async () => ({ tenant: tenantA, ...sign(valid(), await secretsOf(edge, tenantB)) }), 401, 'bad_signature'],
      ['a tenant we do not know', async () => ({ tenant: 'no-such-tenant', ...sign(valid(), [createSecret()]) }), 404, 'unknown_tenant'],
      ['a paused tenant', async () => ({ tenant: paused, ...sign(valid(), await secretsOf(edge, paused)) }), 409, 'paused'],
      ['a Content-Length above the limit', async () => ({ tenant: tenantA, ...sign({ ...valid(), pad: 'x'.repeat(MAX_BODY) }, await secretsOf(edge, tenantA)) }), 413, 'too_large'],
      ['a streamed body without Content-Length that grows past the limit', async () => {
        const signed = sign(valid(), await secretsOf(edge, tenantA));
        return { tenant: tenantA, headers: { ...signed.headers, 'transfer-encoding': 'chunked' }, body: Readable.from([Buffer.alloc(MAX_BODY), Buffer.alloc(MAX_BODY)]) };
      }, 413, 'too_large'],
      ['a gzip bomb', async () => {
        const signed = sign(valid(), await secretsOf(edge, tenantA));
        return { tenant: tenantA, headers: { ...signed.headers, 'content-encoding': 'gzip' }, body: bomb };
      }, 413, 'too_large'],
      ['a content coding we do not support', async () => {
        const signed = sign(valid(), await secretsOf(edge, tenantA));
        return { tenant: tenantA, headers: { ...signed.headers, 'content-encoding': 'compress' }, body: signed.body };
      }, 415, 'unsupported'],
    ];

    it.each(cases)('refuses %s', async (_name, build, status, outcome) => {
      const before = await sizes(stack);
      const counted = await metricValue(edge.metrics, 'acme_sync_webhooks_total', { outcome });
      const { tenant, ...delivery } = await build();
      const res = await post(tenant, delivery);
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
      expect(await metricValue(edge.metrics, 'acme_sync_webhooks_total', { outcome })).toBe(counted + 1);
      expect(await sizes(stack)).toEqual(before);
    });

    it('does not tell a rejected caller which check failed', async () => {
      const forged = await post(tenantA, sign(valid(), [createSecret()]));
      const stale = await post(tenantA, sign(valid(), await secretsOf(edge, tenantA), { timestampSeconds: 1 }));
      expect(forged.json()).toEqual(stale.json());
    });
  });

  describe('secret rotation', () => {
    it('accepts both the old and the new secret during the grace period, and a secret rotated a moment ago', async () => {
      const id = tenantId();
      await addTenant(edge, { id });
      const [old] = await secretsOf(edge, id);
      expect((await post(id, sign(webhookEvent(eventId(), 'contact.updated', { object: contactObject('con_rot', 1) }), [old!]))).statusCode).toBe(200);
      // Rotate in the database while the edge has the old secrets cached.
      const fresh = createSecret();
      await edge.app.tenantRepository.updateSecrets(id, (s) => ({ ...s, webhookSecrets: [fresh, ...s.webhookSecrets] }));
      const event = (v: number) => webhookEvent(eventId(), 'contact.updated', { object: contactObject('con_rot', v) });
      expect((await post(id, sign(event(2), [fresh]))).statusCode).toBe(200);
      expect((await post(id, sign(event(3), [old!]))).statusCode).toBe(200);
      expect((await post(id, sign(event(4), [fresh, old!]))).statusCode).toBe(200);
      // After the grace period the old one is gone from the tenant: refused.
      await edge.app.tenantRepository.updateSecrets(id, (s) => ({ ...s, webhookSecrets: [fresh] }));
      edge.app.tenantCache.invalidate(id);
      expect((await post(id, sign(event(5), [old!]))).statusCode).toBe(401);
    });
  });

  describe('throughput', () => {
    it('gathers many concurrent webhooks into few Kafka batches and acknowledges each after its write', async () => {
      const [secret] = await secretsOf(edge, tenantB);
      const before = await sizes(stack);
      const batchesBefore = edge.batches.length;
      const deliveries = Array.from({ length: 60 }, (_, i) => sign(webhookEvent(eventId(), 'contact.updated', { object: contactObject(`con_many${i}`, 1) }), [secret!]));
      const answers = await Promise.all(deliveries.map((d) => post(tenantB, d)));
      expect(answers.map((a) => a.statusCode)).toEqual(deliveries.map(() => 200));
      expect((await sizes(stack)).contacts).toBe(before.contacts! + 60);
      const batches = edge.batches.slice(batchesBefore);
      expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
      expect(batches.length).toBeLessThan(60 / 4);
    });
  });
});

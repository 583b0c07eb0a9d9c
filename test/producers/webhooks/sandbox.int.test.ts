/**
 * The edge against Acme's sandbox: thin payloads fetched over its REST API, Acme down,
 * and a Kafka outage that the sandbox's own webhook retry heals.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createSandbox, type Sandbox } from '../../../sandbox/src/index.js';
import type { AcmeContactEvent } from '../../../src/transforms/types.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { addTenant, consume, eventId, secretsOf, sign, sizes, startEdge, webhookEvent, type TestEdge } from './harness.js';

let stack: IsolatedStack;
let edge: TestEdge;
let sandbox: Sandbox;
let sandboxUrl: string;
let edgeUrl: string;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  // Quick webhook retries so the outage test does not wait for Acme's production backoff.
  sandbox = createSandbox({ seed: 11, rateLimit: null, webhooks: { retryBaseMs: 200, retryMaxMs: 1_000, maxAttempts: 20 } });
  sandboxUrl = await sandbox.listen({ port: 0 });
  edge = await startEdge(stack);
  await edge.app.listen({ port: 0, host: '127.0.0.1' });
  edgeUrl = `http://127.0.0.1:${(edge.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sandbox?.close();
  await edge?.app.close();
  await stack?.close();
});

/** A sandbox account as one of our tenants (tenant ID = Acme account ID). */
async function connectAccount(payload: 'full' | 'thin', subscribe: boolean): Promise<{ accountId: string; secret: string }> {
  const { account, api_key } = sandbox.provisionAccount({ webhook_payload: payload });
  const secret = subscribe ? sandbox.subscriptions.create(account.id, `${edgeUrl}/webhooks/acme/${account.id}`, ['*']).secret : undefined;
  await addTenant(edge, { id: account.id, acmeBaseUrl: sandboxUrl, acmeAccountId: account.id, secrets: { apiKey: api_key, ...(secret ? { webhookSecrets: [secret] } : {}) } });
  return { accountId: account.id, secret: secret ?? (await secretsOf(edge, account.id))[0]! };
}

const newContact = (last: string) => ({ first_name: 'Grace', last_name: last, email: `${last.toLowerCase()}@example.com`, phone: null, company: 'Navy' });

describe('the edge with Acme sandbox', () => {
  it('fetches the object of a thin payload from Acme and publishes the full record', async () => {
    const { accountId, secret } = await connectAccount('thin', false);
    const contact = sandbox.store.create('contact', accountId, newContact('Hopper'));
    const thin = webhookEvent(eventId(), 'contact.created', { id: contact.id, object_type: 'contact', version: contact.version }, accountId);
    const res = await edge.app.inject({ method: 'POST', url: `/webhooks/acme/${accountId}`, ...toInject(sign(thin, [secret])) });
    expect(res.statusCode).toBe(200);
    const [record] = await consume<AcmeContactEvent>(stack, stack.kafkajs, [stack.topics.contacts], 1);
    expect(record?.value).toMatchObject({ tenant_id: accountId, acme_id: contact.id, acme_version: 1, last_name: 'Hopper', email: 'hopper@example.com', correlation_id: thin.id });
  });

  it('answers 503 with Retry-After and publishes nothing when Acme cannot serve the thin payload', async () => {
    const { accountId, secret } = await connectAccount('thin', false);
    const contact = sandbox.store.create('contact', accountId, newContact('Outage'));
    const before = await sizes(stack);
    sandbox.faults.set({ outage5xx: 1 });
    try {
      const thin = webhookEvent(eventId(), 'contact.created', { id: contact.id, object_type: 'contact', version: 1 }, accountId);
      const res = await edge.app.inject({ method: 'POST', url: `/webhooks/acme/${accountId}`, ...toInject(sign(thin, [secret])) });
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      sandbox.faults.set({ outage5xx: 0 });
    }
    expect(await sizes(stack)).toEqual(before);
  });

  it("answers 503 with Retry-After while Kafka is unreachable; Acme's retry then delivers the event exactly once", async () => {
    const { accountId, secret } = await connectAccount('full', true);
    const before = await sizes(stack);
    await edge.app.kafkaProducer.disconnect();
    let contactId: string;
    try {
      // Our own probe shows the answer Acme gets: 503 with Retry-After.
      const probe = webhookEvent(eventId(), 'contact.created', { object: { id: 'con_probe', first_name: 'P', last_name: 'P', email: null, phone: null, company: null, version: 1, created_at: '2025-03-06T09:00:00.000Z', updated_at: '2025-03-06T09:00:00.000Z', deleted_at: null } }, accountId);
      const res = await edge.app.inject({ method: 'POST', url: `/webhooks/acme/${accountId}`, ...toInject(sign(probe, [secret])) });
      expect(res.statusCode).toBe(503);
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      contactId = sandbox.store.create('contact', accountId, newContact('Lamarr')).id;
      await vi.waitFor(() => expect(sandbox.deliveries.deliveries({ accountId }).some((d) => d.attempts.some((a) => a.status_code === 503)), 'a delivery answered 503').toBe(true), { timeout: 15_000, interval: 20 });
      expect(await sizes(stack)).toEqual(before);
    } finally {
      await edge.app.kafkaProducer.connect();
    }
    expect(await sandbox.deliveries.waitForIdle(20_000)).toBe(true);
    const [delivery] = sandbox.deliveries.deliveries({ accountId });
    expect(delivery?.status).toBe('succeeded');
    expect(delivery?.attempts.map((a) => a.status_code).at(-1)).toBe(200);
    expect((await sizes(stack)).contacts).toBe(before.contacts! + 1);
    const records = await consume<AcmeContactEvent>(stack, stack.kafkajs, [stack.topics.contacts], before.contacts! + 1);
    expect(records.filter((r) => r.value.acme_id === contactId).map((r) => [r.value.tenant_id, r.value.acme_version])).toEqual([[accountId, 1]]);
  });
});

function toInject(delivery: { headers: Record<string, string>; body: string }) {
  return { headers: delivery.headers, payload: delivery.body };
}

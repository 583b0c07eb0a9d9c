/**
 * End to end: Acme's sandbox delivers real signed webhooks over HTTP to the edge on a
 * random port, for two tenants at once, with duplicated and reordered deliveries; at
 * the end every contact, appointment and activity the sandbox holds is on Kafka with
 * its latest version.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSandbox, type Sandbox } from '../../../sandbox/src/index.js';
import type { EventEnvelope } from '../../../src/transforms/types.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { addTenant, consume, metricValue, sizes, startEdge, type TestEdge } from './harness.js';

let stack: IsolatedStack;
let edge: TestEdge;
let sandbox: Sandbox;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  sandbox = createSandbox({
    seed: 42,
    rateLimit: null,
    faults: { duplicate: 0.15, reorder: 0.15, reorderWindow: 3, reorderMaxHoldMs: 300 },
    webhooks: { retryBaseMs: 200, retryMaxMs: 1_000, maxAttempts: 30 },
  });
  await sandbox.listen({ port: 0 });
  // A short tenant cache: the first deliveries can arrive before the tenants exist (404, retried).
  edge = await startEdge(stack, { tenantCacheTtlMs: 300 });
  await edge.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await sandbox?.close();
  await edge?.app.close();
  await stack?.close();
});

const TYPES = ['contact', 'appointment', 'activity'] as const;

describe('webhooks from the sandbox to Kafka', () => {
  it('puts every record two tenants changed on Kafka with its highest version, despite duplicated and reordered deliveries', async () => {
    const port = (edge.app.server.address() as AddressInfo).port;
    const run = sandbox.startGenerator({ accounts: 2, users: 2, contacts: 5, events: 150, webhookUrl: `http://127.0.0.1:${port}/webhooks/acme/{account_id}`, autoStart: false });
    for (const account of run.accounts) {
      await addTenant(edge, {
        id: account.account_id, acmeBaseUrl: sandbox.url()!, acmeAccountId: account.account_id,
        secrets: { apiKey: account.api_key, webhookSecrets: [account.webhook_subscription!.secret] },
      });
    }
    run.start();
    await run.done;
    expect(await sandbox.deliveries.waitForIdle(60_000)).toBe(true);

    const deliveries = sandbox.deliveries.deliveries();
    expect(deliveries.filter((d) => d.status !== 'succeeded')).toEqual([]);
    expect(deliveries.some((d) => d.duplicate)).toBe(true);
    expect(deliveries.some((d) => d.reorder_by > 0)).toBe(true);

    // What the sandbox holds: highest version per (account, record).
    const expected = new Map<string, number>();
    for (const account of run.accounts)
      for (const type of TYPES) for (const record of sandbox.store.all(type, account.account_id)) expected.set(`${account.account_id}:${record.id}`, record.version);

    const onKafka = Object.values(await sizes(stack)).reduce((a, b) => a + b, 0);
    const records = await consume<EventEnvelope>(stack, stack.kafkajs, [stack.topics.contacts, stack.topics.appointments, stack.topics.activities], onKafka);
    const highest = new Map<string, number>();
    for (const { key, value } of records) highest.set(key, Math.max(highest.get(key) ?? 0, value.acme_version));

    expect(highest.size).toBe(expected.size);
    expect(Object.fromEntries(highest)).toEqual(Object.fromEntries(expected));
    expect(new Set(records.map((r) => r.value.tenant_id))).toEqual(new Set(run.accounts.map((a) => a.account_id)));
    // Redeliveries of accepted events were answered without a second write.
    expect(await metricValue(edge.metrics, 'acme_sync_webhooks_total', { outcome: 'duplicate' })).toBeGreaterThan(0);
  });
});

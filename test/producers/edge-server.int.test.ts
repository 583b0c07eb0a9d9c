import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { createKafkajsClient } from '../../src/kafka/kafkajs/index.js';
import { addTenant, contactObject, eventId, secretsOf, sign, sizes, startEdge, tenantId, webhookEvent, type TestEdge } from './webhooks/harness.js';

let stack: IsolatedStack;
let edge: TestEdge;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  edge = await startEdge(stack);
});
afterAll(async () => {
  await edge?.app.close();
  await stack?.close();
});

describe('the edge server', () => {
  it('says it is alive on /healthz', async () => {
    const res = await edge.app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('is ready when Kafka, the schema registry and PostgreSQL answer, and says which one is not', async () => {
    const ready = await edge.app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { kafka: 'ok', registry: 'ok', postgres: 'ok' } });

    await edge.app.kafkaProducer.disconnect();
    try {
      const notReady = await edge.app.inject('/readyz');
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({ status: 'not_ready', checks: { kafka: expect.stringMatching(/^down/), registry: 'ok', postgres: 'ok' } });
    } finally {
      await edge.app.kafkaProducer.connect();
    }
    expect((await edge.app.inject('/readyz')).statusCode).toBe(200);
  });

  it('starts without Kafka, reports it on /readyz and answers webhooks 503 with Retry-After, publishing nothing', async () => {
    // A client whose only broker address refuses connections.
    const deadKafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 }, connectionTimeout: 200 });
    const offline = await startEdge(stack, { kafka: createKafkajsClient({ kafka: deadKafka }), readinessTimeoutMs: 1_000 });
    try {
      const ready = await offline.app.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ checks: { kafka: expect.stringMatching(/^down/), postgres: 'ok', registry: 'ok' } });
      const id = tenantId();
      await addTenant(offline, { id });
      const before = await sizes(stack);
      const delivery = sign(webhookEvent(eventId(), 'contact.created', { object: contactObject('con_offline', 1) }), await secretsOf(offline, id));
      const res = await offline.app.inject({ method: 'POST', url: `/webhooks/acme/${id}`, headers: delivery.headers, payload: delivery.body });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'KAFKA_UNAVAILABLE' } });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(await sizes(stack)).toEqual(before);
    } finally {
      await offline.app.close();
    }
  });

  it('exposes the webhook outcome counter and latency histogram on /metrics', async () => {
    await edge.app.inject({ method: 'POST', url: '/webhooks/acme/nobody-here', payload: '{}', headers: { 'content-type': 'application/json' } });
    const res = await edge.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/acme_sync_webhooks_total\{outcome="unknown_tenant",service="edge-test"\} 1/);
    expect(res.body).toContain('acme_sync_webhook_duration_seconds_bucket');
  });

  it('answers an unexpected error with 500, logged with the correlation ID and without the secret', async () => {
    const lines: string[] = [];
    const failing = await startEdge(stack, {
      logger: createLogger({ level: 'info', name: 'edge-test', destination: { write: (line: string) => lines.push(line) } }),
      fetchObject: async () => {
        throw new TypeError('a bug in the fetch path');
      },
    });
    try {
      const id = tenantId();
      await addTenant(failing, { id });
      const [secret] = await secretsOf(failing, id);
      const event = webhookEvent(eventId(), 'contact.created', { id: 'con_bug', object_type: 'contact', version: 1 });
      const delivery = sign(event, [secret!]);
      const res = await failing.app.inject({ method: 'POST', url: `/webhooks/acme/${id}`, headers: delivery.headers, payload: delivery.body });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error' } });
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request failed');
      expect(logged).toMatchObject({ level: 'error', correlationId: event.id, tenantId: id, status: 500 });
      expect(lines.join('\n')).not.toContain(secret!.slice(6));
      // Still serving.
      expect((await failing.app.inject('/healthz')).statusCode).toBe(200);
    } finally {
      await failing.app.close();
    }
  });

  it('flushes webhooks waiting in the publisher before it disconnects from Kafka on close', async () => {
    // A long linger keeps the event queued until close() flushes it.
    let reachedPublisher!: () => void;
    const queued = new Promise<void>((resolve) => (reachedPublisher = resolve));
    const closing = await startEdge(stack, {
      config: { ...stack.config, PRODUCER_LINGER_MS: 60_000 },
      // The thin-payload fetch is the last step before publish: once it returned, the event is queued.
      fetchObject: async (_tenant, _type, id) => {
        setImmediate(reachedPublisher);
        return contactObject(id, 1);
      },
    });
    const id = tenantId();
    await addTenant(closing, { id });
    const before = await sizes(stack);
    const delivery = sign(webhookEvent(eventId(), 'contact.created', { id: 'con_flush', object_type: 'contact', version: 1 }), await secretsOf(closing, id));
    const answer = closing.app.inject({ method: 'POST', url: `/webhooks/acme/${id}`, headers: delivery.headers, payload: delivery.body });
    await queued;
    await closing.app.close();
    expect((await answer).statusCode).toBe(200);
    expect((await sizes(stack)).contacts).toBe(before.contacts! + 1);
  });
});

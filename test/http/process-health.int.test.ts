import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAdminApp } from '../../src/admin/app.js';
import { createConsumerServer } from '../../src/consumers/server.js';
import type { ConsumerRunner } from '../../src/consumers/runtime/runner.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { sandboxOutbound } from '../acme/sandbox-tenants.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

const runner = (groupId: string, ready: boolean, stalled: string[] = []) => ({ groupId, isReady: () => ready, stalledPartitions: () => stalled }) as unknown as ConsumerRunner;

describe('readiness of every process', () => {
  it('the consumer process is ready only when PostgreSQL answers and every runner joined its group', async () => {
    const metrics = createMetricsRegistry({ service: 't', collectDefault: false });
    const ready = await createConsumerServer({ pool: stack.pool, metrics, runners: [runner('g.calendar', true)], dashboard: false });
    expect((await ready.inject('/readyz')).json()).toEqual({ status: 'ready', checks: { postgres: 'ok', 'g.calendar': 'ok' } });
    const notJoined = await createConsumerServer({ pool: stack.pool, metrics, runners: [runner('g.calendar', true), runner('g.touchpoints', false)], dashboard: false });
    const res = await notJoined.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json().checks['g.touchpoints']).toBe('down: not joined to its consumer group');
    // A partition retrying past CONSUMER_STALL_AFTER_MS makes the process not ready (issue 14).
    const stalled = await createConsumerServer({ pool: stack.pool, metrics, runners: [runner('g.calendar', true, ['acme.appointments.v1/2'])], dashboard: false });
    const stalledRes = await stalled.inject('/readyz');
    expect(stalledRes.statusCode).toBe(503);
    expect(stalledRes.json().checks['g.calendar']).toMatch(/acme\.appointments\.v1\/2/);
  });

  it('the admin process reports PostgreSQL and what it adds (Kafka) without a token', async () => {
    const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
    const app = createAdminApp({ pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:3000', acmeOutbound: sandboxOutbound(), readiness: { kafka: () => Promise.reject(new Error('producer not connected')) } });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const res = await app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', checks: { postgres: 'ok', kafka: 'down: producer not connected' } });
    await app.close();
  });
});

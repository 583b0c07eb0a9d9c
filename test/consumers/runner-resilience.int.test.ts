import { describe, expect, it, vi } from 'vitest';
import { createPool } from '../../src/db/index.js';
import { readLedger } from '../../src/consumers/runtime/index.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { appointment, readTopic, useHarness } from './support/harness.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { createConsumerServer } from '../../src/consumers/server.js';
import { DLQ_HEADERS } from '../../src/consumers/runtime/dlq.js';

const h = useHarness();

const appointments = (tenant: string, from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ kind: 'appointments' as const, value: appointment({ tenant_id: tenant, acme_id: `apt_${from + i}`, title: `n${from + i}` }) }));
const rowsOf = async (tenant: string) => (await h.calendarRows()).filter((r) => r.tenant_id === tenant);

describe('the consumer runner under failure', () => {
  it('rides out a PostgreSQL outage mid-stream: everything written, nothing in the DLQ', async () => {
    const T = 'res-pg';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const url = new URL(h.stack.config.DATABASE_URL);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const pool = createPool({ url: url.toString(), schema: h.stack.config.DATABASE_SCHEMA, poolMax: 4 });
    pool.on('error', () => undefined);
    const metrics = createMetricsRegistry({ service: 'test', collectDefault: false });
    const runner = h.runner({ pool, metrics, groupId: `${h.stack.id}-outage` });
    try {
      await runner.start();
      await h.produce(appointments(T, 0, 10));
      await vi.waitFor(async () => expect(await rowsOf(T)).toHaveLength(10), { timeout: 45_000, interval: 200 });
      await proxy.down();
      await h.produce(appointments(T, 10, 20));
      // Let the runner meet the outage (it retries; nothing may reach the DLQ).
      await vi.waitFor(async () => expect((await metrics.getSingleMetricAsString('acme_sync_consumer_retries_total'))).toMatch(/acme_sync_consumer_retries_total\{[^}]*\} [1-9]/), { timeout: 45_000, interval: 200 });
      await proxy.up();
      await vi.waitFor(async () => expect(await rowsOf(T)).toHaveLength(30), { timeout: 45_000, interval: 200 });
      await vi.waitFor(async () => expect((await readLedger(h.stack.pool, runner.groupId)).find((r) => r.tenantId === T)).toMatchObject({ received: 30, written: 30, dlq: 0, skipped: 0 }), { timeout: 45_000, interval: 200 });
      const dlq = (await readTopic(h.stack, h.stack.topics.dlq)).filter((r) => r.headers[DLQ_HEADERS.consumerGroup] === runner.groupId);
      expect(dlq).toEqual([]);
    } finally {
      await runner.stop();
      await pool.end().catch(() => undefined);
      await proxy.close();
    }
  });

  it('bug: a partition retried a PostgreSQL outage silently forever — past the stall deadline it reports itself stalled (metric, /readyz) and recovers when the outage ends', async () => {
    const T = 'res-stall';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const url = new URL(h.stack.config.DATABASE_URL);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const pool = createPool({ url: url.toString(), schema: h.stack.config.DATABASE_SCHEMA, poolMax: 4 });
    pool.on('error', () => undefined);
    const metrics = createMetricsRegistry({ service: 'test', collectDefault: false });
    const runner = h.runner({ pool, metrics, groupId: `${h.stack.id}-stall`, stallAfterMs: 1_000 });
    const server = await createConsumerServer({ pool: h.stack.pool, metrics, runners: [runner], dashboard: false });
    const stalledSeries = async () => (await metrics.getSingleMetricAsString('acme_sync_partition_stalled')).split('\n').filter((l) => l.startsWith('acme_sync_partition_stalled{'));
    try {
      await runner.start();
      await proxy.down();
      await h.produce(appointments(T, 0, 3));
      await vi.waitFor(() => expect(runner.stalledPartitions().length).toBeGreaterThan(0), { timeout: 45_000, interval: 200 });
      expect(await stalledSeries()).toContainEqual(expect.stringMatching(/flow="calendar".* 1$/));
      expect((await server.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      await proxy.up();
      await vi.waitFor(async () => expect(await rowsOf(T)).toHaveLength(3), { timeout: 45_000, interval: 200 });
      await vi.waitFor(() => expect(runner.stalledPartitions()).toEqual([]), { timeout: 45_000, interval: 200 });
      expect((await stalledSeries()).every((l) => l.endsWith(' 0'))).toBe(true);
      expect((await server.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await runner.stop();
      await server.close();
      await pool.end().catch(() => undefined);
      await proxy.close();
    }
  });

  it('shares partitions between two runners of one group and loses or repeats nothing across rebalances', async () => {
    const T = 'res-two';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const groupId = `${h.stack.id}-pair`;
    const first = h.runner({ groupId, clientId: 'first' });
    const second = h.runner({ groupId, clientId: 'second' });
    await first.start();
    await h.produce(appointments(T, 0, 15));
    await second.start();
    await h.produce(appointments(T, 15, 15));
    await vi.waitFor(async () => expect(await rowsOf(T)).toHaveLength(30), { timeout: 45_000, interval: 200 });
    await first.stop();
    await h.produce(appointments(T, 30, 15));
    await vi.waitFor(async () => expect(await rowsOf(T)).toHaveLength(45), { timeout: 45_000, interval: 200 });
    // Exactly once in effect: every record counted once, even the ones redelivered after a rebalance.
    await vi.waitFor(async () => expect((await readLedger(h.stack.pool, groupId)).find((r) => r.tenantId === T)).toMatchObject({ received: 45, written: 45, dlq: 0, skipped: 0 }), { timeout: 45_000, interval: 200 });
    const { rows } = await h.stack.pool.query('SELECT sum(next_offset)::int AS n FROM consumer_offsets WHERE group_id = $1', [groupId]);
    // The stored offsets cover the whole topic (earlier tests' records included), no more, no less.
    const highs = (await h.stack.admin.fetchTopicOffsets(h.stack.topics.appointments)).reduce((sum, p) => sum + Number(p.high), 0);
    expect(rows[0].n).toBe(highs);
    await second.stop();
  });

  it('gives up (done rejects, so the process exits non-zero) when a flow throws a programmer error instead of DLQing everything', async () => {
    const T = 'res-bug';
    await createApiKeyTenant(h.acme, h.tenants, T);
    await h.produce(appointments(T, 0, 1));
    const buggy = { name: 'buggy', inputs: ['appointments'] as const, prepare: async () => { throw new TypeError('x is undefined'); }, apply: async () => ({ written: new Map(), skipped: new Map(), outputs: [] }) };
    const runner = h.runner({ groupId: `${h.stack.id}-bug`, flow: buggy });
    await runner.start();
    await expect(runner.done).rejects.toThrow('x is undefined');
    const dlq = (await readTopic(h.stack, h.stack.topics.dlq)).filter((r) => r.headers[DLQ_HEADERS.consumerGroup] === runner.groupId);
    expect(dlq).toEqual([]);
  });
});

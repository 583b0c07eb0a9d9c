/**
 * acme_sync_consumer_lag_records after a rebalance: a partition that moved to another
 * member of the group is reported by its new owner only. A stale series left behind by
 * the old owner would add its last lag to `sum by (flow, topic)` forever, which the
 * alert AcmeSyncConsumerLagGrowing and the dashboard's lag panel read.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { recordKey } from '../../src/kafka/index.js';
import { createMetricsRegistry, type Registry } from '../../src/metrics/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { appointment, contact, createHarness, type Harness } from '../consumers/support/harness.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
let h: Harness;
const tenant = 'ops-lag';

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  h = await createHarness(stack);
  await createApiKeyTenant(h.acme, h.tenants, tenant);
});
afterAll(async () => {
  await h?.close();
  await stack?.close();
});

let seq = 0;
/** One appointment and one contact on every partition of the calendar flow's inputs. */
async function onEveryPartition(): Promise<number> {
  const messages: { topic: string; partition: number; key: string; value: Buffer }[] = [];
  for (let partition = 0; partition < stack.config.KAFKA_PARTITIONS; partition++) {
    seq++;
    const apt = appointment({ tenant_id: tenant, acme_id: `apt_lag${seq}` });
    const con = contact({ tenant_id: tenant, acme_id: `con_lag${seq}` });
    messages.push({ topic: stack.topics.appointments, partition, key: recordKey(tenant, apt.acme_id), value: await stack.codec.encode('appointments', apt) });
    messages.push({ topic: stack.topics.contacts, partition, key: recordKey(tenant, con.acme_id), value: await stack.codec.encode('contacts', con) });
  }
  for (const m of messages) await h.producer.send({ topic: m.topic, acks: -1, messages: [{ key: m.key, value: m.value, partition: m.partition }] });
  return messages.length;
}

async function lagSeries(metrics: Registry): Promise<string[]> {
  const { values } = await metrics.getSingleMetric('acme_sync_consumer_lag_records')!.get();
  return values.map((v) => `${v.labels.topic}/${v.labels.partition}`).sort();
}

async function finished(metrics: Registry): Promise<number> {
  const { values } = await metrics.getSingleMetric('acme_sync_consumer_records_total')!.get();
  return values.filter((v) => v.labels.outcome !== 'fenced').reduce((n, v) => n + v.value, 0);
}

describe('consumer lag series', () => {
  it('are reported by the member that owns the partition, and dropped by the one that lost it in a rebalance', async () => {
    const first = createMetricsRegistry({ service: 'first', collectDefault: false });
    const second = createMetricsRegistry({ service: 'second', collectDefault: false });
    const groupId = `${stack.id}-lag`;
    const a = h.runner({ metrics: first, groupId });
    await a.start();
    const round1 = await onEveryPartition();
    await vi.waitFor(async () => expect(await finished(first)).toBe(round1), { timeout: 45_000, interval: 200 });
    const all = await lagSeries(first);
    expect(all).toHaveLength(2 * stack.config.KAFKA_PARTITIONS);

    const b = h.runner({ metrics: second, groupId });
    await b.start();
    await vi.waitFor(async () => expect(b.isReady()).toBe(true), { timeout: 45_000, interval: 200 });
    const round2 = await onEveryPartition();
    await vi.waitFor(async () => expect((await finished(first)) + (await finished(second))).toBe(round1 + round2), { timeout: 45_000, interval: 200 });

    const [byFirst, bySecond] = [await lagSeries(first), await lagSeries(second)];
    expect(bySecond.length).toBeGreaterThan(0);
    expect(byFirst.filter((s) => bySecond.includes(s))).toEqual([]);
    expect([...byFirst, ...bySecond].sort()).toEqual(all);
  });
});

/**
 * Regression: a large input batch produced outputs that, sent in one request, exceeded
 * the broker's max.message.bytes; the MESSAGE_TOO_LARGE failure was retried forever and
 * the partition stalled (found by the benchmarks). Outputs now go in bounded requests.
 */
import { describe, expect, it, vi } from 'vitest';
import { recordKey } from '../../src/kafka/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { appointment, useHarness } from './support/harness.js';

const h = useHarness();

describe('a large batch', () => {
  it('is written and published even when its outputs exceed what the broker takes in one request', async () => {
    const t = await createApiKeyTenant(h.acme, h.tenants, 'big');
    const title = 'Quarterly business review '.repeat(70); // ~1.8 KB, so one batch's outputs pass 1 MiB per partition
    const events = Array.from({ length: 3_000 }, (_, i) => appointment({ tenant_id: t.tenantId, acme_id: `apt_${i}`, title }));
    const messages = await Promise.all(events.map(async (e) => ({ key: recordKey(e.tenant_id, e.acme_id), value: await h.stack.codec.encode('appointments', e) })));
    for (let i = 0; i < messages.length; i += 500) await h.producer.sendBatch({ acks: -1, topicMessages: [{ topic: h.stack.topics.appointments, messages: messages.slice(i, i + 500) }] });

    const runner = h.runner({ maxBytesPerPartition: 4 * 1024 * 1024 });
    await runner.start();
    await vi.waitFor(async () => {
      const { rows } = await h.stack.pool.query<{ n: string }>('SELECT count(*) AS n FROM calendar_events');
      expect(Number(rows[0]!.n)).toBe(3_000);
    }, { timeout: 90_000, interval: 200 });
    // Published after COMMIT by the outbox relay (issue 14): wait for it, then nothing is left in the outbox.
    await vi.waitFor(async () => {
      const published = (await h.stack.admin.fetchTopicOffsets(h.stack.topics.calendar)).reduce((n, p) => n + Number(p.high), 0);
      expect(published).toBe(3_000);
    }, { timeout: 90_000, interval: 200 });
    expect((await h.stack.pool.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(0);
  });
});

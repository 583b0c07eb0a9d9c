import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { withTransaction } from '../../../src/db/index.js';
import { readDlq } from '../../../src/dlq/index.js';
import { queryDlq } from '../../../src/dlq/records.js';
import { createOutboxRelay, relayOnce, writeOutbox } from '../../../src/consumers/runtime/outbox.js';
import type { KafkaProducer } from '../../../src/kafka/index.js';
import { createMetricsRegistry } from '../../../src/metrics/index.js';
import { createApiKeyTenant } from '../../acme/sandbox-tenants.js';
import { appointment, readTopic, silent, useHarness } from '../support/harness.js';

const h = useHarness();
const metrics = () => createMetricsRegistry({ service: 'test', collectDefault: false });
const relayOf = (producer: KafkaProducer) => createOutboxRelay({ pool: h.stack.pool, producer, logger: silent, metrics: metrics(), pollMs: 50 });

/** What the topic holds per key (in offset order within the key's partition), for keys starting with `prefix`. */
async function publishedByKey(topic: string, prefix: string): Promise<Map<string, string[]>> {
  const byKey = new Map<string, string[]>();
  const records = (await readTopic(h.stack, topic)).filter((r) => r.key?.startsWith(prefix)).sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  for (const r of records) byKey.set(r.key!, [...(byKey.get(r.key!) ?? []), r.value!.toString()]);
  return byKey;
}

/** A producer that holds every send until `open()`: Kafka "down" without touching the shared broker. */
function gated(producer: KafkaProducer): KafkaProducer & { open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return { ...producer, send: async (...args) => gate.then(() => producer.send(...args)), open };
}

describe('the transactional outbox', () => {
  it('publishes exactly the committed rows, in per-key order, while several relays race and transactions roll back (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ key: fc.integer({ min: 0, max: 3 }), commit: fc.boolean() }), { minLength: 1, maxLength: 25 }), async (ops) => {
        const prefix = `ob-${randomUUID()}:`;
        const relays = [relayOf(h.kafkaProducer), relayOf(h.kafkaProducer), relayOf(h.kafkaProducer)];
        relays.forEach((r) => r.start());
        const committed = new Map<string, string[]>();
        try {
          for (const [i, op] of ops.entries()) {
            const key = `${prefix}${op.key}`;
            const row = { kind: 'output' as const, topic: h.stack.topics.calendar, message: { key, value: Buffer.from(`v${i}`) } };
            await withTransaction(h.stack.pool, async (db) => {
              await writeOutbox(db, 'test', [row]);
              if (!op.commit) throw new Error('rolled back');
            }).catch((err: Error) => expect(err.message).toBe('rolled back'));
            if (op.commit) committed.set(key, [...(committed.get(key) ?? []), `v${i}`]);
            relays[i % 3]!.wake();
          }
          await vi.waitFor(async () => expect(await publishedByKey(h.stack.topics.calendar, prefix)).toEqual(committed), { timeout: 20_000, interval: 200 });
        } finally {
          await Promise.all(relays.map((r) => r.stop()));
        }
        expect((await h.stack.pool.query('SELECT count(*)::int AS n FROM outbox WHERE key LIKE $1', [`${prefix}%`])).rows[0].n).toBe(0);
      }),
      { numRuns: 6 },
    );
  });

  it('publishes a round again when its relay died after Kafka acknowledged it and before its commit: at-least-once, latest value per key intact', async () => {
    const prefix = `ob-crash-${randomUUID()}:`;
    const rows = [0, 1, 2].map((i) => ({ kind: 'output' as const, topic: h.stack.topics.calendar, message: { key: `${prefix}${i % 2}`, value: Buffer.from(`v${i}`) } }));
    await withTransaction(h.stack.pool, (db) => writeOutbox(db, 'test', rows));
    const dying: KafkaProducer = {
      ...h.kafkaProducer,
      send: async (...args) => {
        await h.kafkaProducer.send(...args);
        throw new Error('process killed after the ack');
      },
    };
    await expect(relayOnce(h.stack.pool, dying, 100)).rejects.toThrow();
    expect((await h.stack.pool.query('SELECT count(*)::int AS n FROM outbox WHERE key LIKE $1', [`${prefix}%`])).rows[0].n).toBe(3);
    await relayOf(h.kafkaProducer).drain();
    const published = await publishedByKey(h.stack.topics.calendar, prefix);
    expect(published).toEqual(new Map([[`${prefix}0`, ['v0', 'v2', 'v0', 'v2']], [`${prefix}1`, ['v1', 'v1']]]));
    expect((await h.stack.pool.query('SELECT count(*)::int AS n FROM outbox WHERE key LIKE $1', [`${prefix}%`])).rows[0].n).toBe(0);
  });

  it('lets the runner commit rows and offsets while Kafka cannot take the outputs (no broker round trip under its locks); outputs and the DLQ follow, the DLQ queryable from PostgreSQL', async () => {
    const T = 'ob-runner';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const producer = gated(h.kafkaProducer);
    const runner = h.runner({ groupId: `${h.stack.id}-outbox`, producer });
    try {
      await runner.start();
      await h.produce([
        ...[0, 1, 2].map((i) => ({ kind: 'appointments' as const, value: appointment({ tenant_id: T, acme_id: `apt_${i}`, title: `t${i}` }) })),
        { kind: 'appointments' as const, key: `${T}:apt_bad`, raw: Buffer.from('not avro') },
      ]);
      // Committed with the Kafka sends still held: rows, the DLQ entry and the outbox rows are there.
      await vi.waitFor(async () => expect((await h.calendarRows()).filter((r) => r.tenant_id === T)).toHaveLength(3), { timeout: 45_000, interval: 200 });
      await vi.waitFor(async () => {
        const { rows } = await h.stack.pool.query("SELECT kind, count(*)::int AS n FROM outbox WHERE source_group = $1 GROUP BY kind ORDER BY kind", [runner.groupId]);
        expect(rows).toEqual([{ kind: 'dlq', n: 1 }, { kind: 'output', n: 3 }]);
      }, { timeout: 45_000, interval: 200 });
      expect((await readTopic(h.stack, h.stack.topics.calendar)).filter((r) => r.key?.startsWith(`${T}:`))).toEqual([]);
      producer.open();
      await vi.waitFor(async () => expect((await readTopic(h.stack, h.stack.topics.calendar)).filter((r) => r.key?.startsWith(`${T}:`))).toHaveLength(3), { timeout: 45_000, interval: 200 });
      await vi.waitFor(async () => expect(await queryDlq(h.stack.pool, h.stack.topics.dlq, { tenantId: T })).toHaveLength(1), { timeout: 45_000, interval: 200 });
      // The index answers what the topic holds: same IDs, same error context.
      const indexed = await queryDlq(h.stack.pool, h.stack.topics.dlq, { tenantId: T, code: 'DECODE_FAILED' });
      const scanned = await readDlq(h.stack.kafka, h.stack.topics.dlq, { tenantId: T });
      expect(indexed.map((r) => ({ id: r.id, error: r.error, key: r.key }))).toEqual(scanned.map((r) => ({ id: r.id, error: r.error, key: r.key })));
    } finally {
      producer.open();
      await runner.stop();
    }
  });
});

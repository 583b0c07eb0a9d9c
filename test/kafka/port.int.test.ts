import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { MAX_REQUEST_BYTES, type Acknowledgement, type Assignment, type GroupConsumer, type KafkaAdmin, type KafkaProducer, type OutgoingRecord, type TopicRecord } from '../../src/kafka/index.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

// The Kafka port (src/kafka/types.ts) against the real broker, through the default
// adapter: what the runner, the edge and the DLQ tool rely on.
let stack: IsolatedStack;
let admin: KafkaAdmin;
let producer: KafkaProducer;
const topic = `port-${randomUUID()}`;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  admin = stack.kafka.admin();
  await admin.connect();
  await admin.createTopics([{ topic, partitions: 3, replicationFactor: 1, config: { 'cleanup.policy': 'delete' } }]);
  // Ready when every partition has a leader and its offsets can be read (as ensureTopics waits).
  await vi.waitFor(async () => {
    const [metadata] = await admin.topicMetadata([topic]);
    expect(metadata?.partitions.filter((p) => p.leader >= 0)).toHaveLength(3);
    expect(await admin.topicOffsets(topic)).toHaveLength(3);
  }, { timeout: 30_000, interval: 100 });
  producer = stack.kafka.producer();
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await stack?.admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin?.disconnect();
  await stack?.close();
});

/** Records for `keys` keys, `versions` each, interleaved (k0 v0, k1 v0, ..., k0 v1, ...); `bytes` of value each. */
function records(prefix: string, keys: number, versions: number, bytes = 16): OutgoingRecord[] {
  const out: OutgoingRecord[] = [];
  for (let v = 0; v < versions; v++) {
    for (let k = 0; k < keys; k++) {
      const value = Buffer.alloc(bytes, 'x');
      value.write(`v${v};`);
      out.push({ key: `${prefix}k${k}`, value, headers: { version: String(v) } });
    }
  }
  return out;
}

async function readAll(): Promise<TopicRecord[]> {
  const read: TopicRecord[] = [];
  await stack.kafka.readTopic(topic, { until: 'end' }, (r) => read.push(r));
  return read;
}

describe('the Kafka port over kafkajs', () => {
  it('acknowledges a send only with every partition its records went to, and keeps each key\'s order on one partition', async () => {
    const prefix = `a-${randomUUID()}-`;
    // 20 keys × 3 versions of 30 KiB: more than one request's worth, so the send travels in chunks.
    const sent = records(prefix, 20, 3, 30 * 1024);
    expect(sent.length * 30 * 1024).toBeGreaterThan(MAX_REQUEST_BYTES);
    const acks: Acknowledgement[] = await producer.send([{ topic, records: sent }]);
    const read = (await readAll()).filter((r) => r.key?.toString().startsWith(prefix));
    expect(read).toHaveLength(sent.length);
    const acked = new Set(acks.map((a) => `${a.topic}:${a.partition}`));
    for (const r of read) expect(acked, `partition ${r.partition}`).toContain(`${topic}:${r.partition}`);
    // Per key: one partition, versions in the order sent.
    const byKey = new Map<string, TopicRecord[]>();
    for (const r of read.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
      byKey.set(r.key!.toString(), [...(byKey.get(r.key!.toString()) ?? []), r]);
    }
    expect(byKey.size).toBe(20);
    for (const [key, rs] of byKey) {
      expect(new Set(rs.map((r) => r.partition)).size, key).toBe(1);
      expect(rs.map((r) => r.headers.version?.toString()), key).toEqual(['0', '1', '2']);
    }
    // Keys spread over the partitions (murmur2), and every acknowledgement's base offset holds a record of the send.
    expect(new Set(read.map((r) => r.partition)).size).toBe(3);
    for (const a of acks) expect(read.some((r) => r.partition === a.partition && r.offset === a.baseOffset), `${a.partition}@${a.baseOffset}`).toBe(true);
  });

  it('names the partition and offset a single record was written at, with its timestamp and headers', async () => {
    const [ack] = await producer.send([{ topic, records: [{ key: `one-${randomUUID()}`, value: Buffer.from('hello'), headers: { h: 'v' }, timestamp: '1700000000000' }] }]);
    expect(ack).toMatchObject({ topic, partition: expect.any(Number), baseOffset: expect.stringMatching(/^\d+$/) });
    const read = await readAll();
    const found = read.find((r) => r.partition === ack!.partition && r.offset === ack!.baseOffset);
    expect(found).toMatchObject({ value: Buffer.from('hello'), timestamp: '1700000000000' });
    expect(found!.headers.h?.toString()).toBe('v');
  });

  it('delivers every record to a group consumer in per-key order, with the assignment, batch control and informational commits', async () => {
    const prefix = `c-${randomUUID()}-`;
    const sent = records(prefix, 12, 4);
    // One send per version: order across sends, awaited in turn.
    for (let v = 0; v < 4; v++) await producer.send([{ topic, records: sent.slice(v * 12, v * 12 + 12) }]);
    const groupId = `${stack.id}-port-${randomUUID()}`;
    const consumer: GroupConsumer = stack.kafka.consumer({ groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, maxWaitTimeMs: 100 });
    const assignments: Assignment[] = [];
    const crashes: unknown[] = [];
    const seen: { partition: number; key: string; version: string; offset: string }[] = [];
    consumer.onAssignment((a) => assignments.push(a));
    consumer.onCrash((err) => crashes.push(err));
    await consumer.connect();
    try {
      await consumer.subscribe([topic], true);
      await consumer.run({
        concurrency: 3,
        eachBatch: async (batch, control) => {
          expect(batch.records.length).toBeGreaterThan(0);
          expect(batch.firstOffset).toBe(batch.records[0]!.offset);
          expect(BigInt(batch.lastOffset)).toBeGreaterThanOrEqual(BigInt(batch.records.at(-1)!.offset));
          expect(BigInt(batch.highWatermark)).toBeGreaterThan(BigInt(batch.lastOffset));
          expect(control.isStale()).toBe(false);
          await control.heartbeat();
          const resume = control.pause();
          resume();
          for (const r of batch.records) {
            const key = r.key?.toString() ?? '';
            if (key.startsWith(prefix)) seen.push({ partition: batch.partition, key, version: r.headers.version!.toString(), offset: r.offset });
          }
          control.resolveOffset(batch.lastOffset);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset) + 1n).toString() }]);
        },
      });
      await vi.waitFor(() => expect(seen).toHaveLength(sent.length), { timeout: 30_000, interval: 100 });
    } finally {
      await consumer.disconnect();
    }
    expect(crashes).toEqual([]);
    expect(assignments.at(-1)?.[topic]?.slice().sort()).toEqual([0, 1, 2]);
    for (let k = 0; k < 12; k++) {
      const mine = seen.filter((s) => s.key === `${prefix}k${k}`);
      expect(mine.map((s) => s.version)).toEqual(['0', '1', '2', '3']);
      expect(new Set(mine.map((s) => s.partition)).size).toBe(1);
    }
    // Nothing delivered twice: each offset was resolved once.
    expect(new Set(seen.map((s) => `${s.partition}:${s.offset}`)).size).toBe(seen.length);
    await admin.deleteGroups([groupId]);
  });

  it('answers the admin calls the edge, the DLQ tool and start-up make', async () => {
    expect(await admin.listTopics()).toContain(topic);
    // Creating a topic that exists is not an error (several processes start together).
    await admin.createTopics([{ topic, partitions: 3, replicationFactor: 1 }]);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThan(0);
    expect(cluster.clusterId).toEqual(expect.any(String));
    const offsets = await admin.topicOffsets(topic);
    expect(offsets.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
    const total = offsets.reduce((n, o) => n + Number(BigInt(o.high) - BigInt(o.low)), 0);
    expect(total).toBe((await readAll()).length);
  });

  it('reads one partition from an offset up to a bound, and nothing past it', async () => {
    const [ack] = await producer.send([{ topic, records: [{ key: 'range', value: Buffer.from('a') }, { key: 'range', value: Buffer.from('b') }, { key: 'range', value: Buffer.from('c') }] }]);
    const from = BigInt(ack!.baseOffset);
    const read: TopicRecord[] = [];
    await stack.kafka.readTopic(topic, { until: { before: (from + 2n).toString() }, partitions: [ack!.partition], from: () => ack!.baseOffset }, (r) => read.push(r));
    expect(read.map((r) => `${r.partition}:${r.offset}:${r.value}`)).toEqual([`${ack!.partition}:${from}:a`, `${ack!.partition}:${from + 1n}:b`]);
  });
});

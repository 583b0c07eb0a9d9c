/**
 * The Kafka port's contract (src/kafka/types.ts), one suite run against every adapter:
 * kafkajs (the default) and @platformatic/kafka (KAFKA_CLIENT=platformatic, issue 14). Real
 * broker, random topic names, conditions waited on, no sleeps.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { AcmeSyncError, ERROR_CODES } from '../../src/errors/index.js';
import { createKafkajsClient } from '../../src/kafka/kafkajs/index.js';
import { createPlatformaticClient } from '../../src/kafka/platformatic/index.js';
import type { BatchControl, GroupConsumer, KafkaAdmin, KafkaClient, KafkaClientOptions, KafkaProducer, RecordBatch, TopicRecord } from '../../src/kafka/types.js';

const ADAPTERS: [string, (options: KafkaClientOptions) => KafkaClient][] = [
  ['kafkajs', createKafkajsClient],
  ['@platformatic/kafka', createPlatformaticClient],
];

const PARTITIONS = 3;
const id = () => `port${randomBytes(5).toString('hex')}`;

let brokers: string[];
/** Clean-up only (the port has no deleteTopics): the topics this file created. */
const created: string[] = [];
beforeAll(() => {
  brokers = inject('stack').KAFKA_BROKERS.split(',');
});
afterAll(async () => {
  const admin = new Kafka({ brokers, clientId: 'port-contract-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.deleteTopics({ topics: created }).catch(() => undefined);
  await admin.disconnect();
});

/** Every record of the topic, by partition, through the adapter's readTopic. */
async function readAll(client: KafkaClient, topic: string): Promise<TopicRecord[]> {
  const records: TopicRecord[] = [];
  await client.readTopic(topic, { until: 'end', timeoutMs: 30_000 }, (r) => records.push(r));
  return records;
}

interface Consumed {
  batches: RecordBatch[];
  assignments: Record<string, number[]>[];
  consumer: GroupConsumer;
}

/** A group consumer that resolves every batch (unless `onBatch` says otherwise) and records what it saw. */
async function startConsumer(client: KafkaClient, topics: string[], groupId: string, onBatch?: (batch: RecordBatch, control: BatchControl) => Promise<boolean | void> | boolean | void): Promise<Consumed> {
  const consumer = client.consumer({ groupId, maxWaitTimeMs: 100, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
  const seen: Consumed = { batches: [], assignments: [], consumer };
  consumer.onAssignment((a) => seen.assignments.push(a));
  await consumer.connect();
  await consumer.subscribe(topics, true);
  await consumer.run({
    concurrency: 3,
    async eachBatch(batch, control) {
      const keep = (await onBatch?.(batch, control)) ?? true;
      if (!keep) return;
      seen.batches.push(batch);
      control.resolveOffset(batch.lastOffset);
    },
  });
  return seen;
}

const keyed = (n: number, keys: number, tag = '') =>
  Array.from({ length: n }, (_, i) => ({ key: `key-${i % keys}`, value: Buffer.from(`${tag}${i}`), headers: { seq: String(i), tag } }));

describe.each(ADAPTERS)('Kafka port contract: %s', (name, create) => {
  let client: KafkaClient;
  let admin: KafkaAdmin;
  let producer: KafkaProducer;
  const consumers: GroupConsumer[] = [];

  async function newTopic(partitions = PARTITIONS): Promise<string> {
    const topic = id();
    created.push(topic);
    await admin.createTopics([{ topic, partitions, replicationFactor: 1 }]);
    await vi.waitFor(async () => {
      const [m] = await admin.topicMetadata([topic]);
      expect(m?.partitions.filter((p) => p.leader >= 0)).toHaveLength(partitions);
      await admin.topicOffsets(topic);
    }, { timeout: 30_000, interval: 100 });
    return topic;
  }

  beforeAll(async () => {
    client = create({ brokers, clientId: `port-contract-${name.replace(/\W/g, '')}` });
    admin = client.admin();
    await admin.connect();
    producer = client.producer();
    await producer.connect();
  });
  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer?.disconnect();
    await admin?.disconnect();
  });

  it('acknowledges every partition a send wrote to, and the records read back with their keys, values and headers', async () => {
    const [a, b] = [await newTopic(), await newTopic()];
    expect(producer.isConnected()).toBe(true);
    const acks = await producer.send([{ topic: a, records: keyed(60, 12, 'a') }, { topic: b, records: keyed(10, 10, 'b') }]);
    const records = [...(await readAll(client, a)), ...(await readAll(client, b))];
    const written = new Set(records.map((r) => `${r.value!.toString().startsWith('a') ? a : b}:${r.partition}`));
    expect(new Set(acks.map((x) => `${x.topic}:${x.partition}`))).toEqual(written);
    expect(records).toHaveLength(70);
    const first = records.find((r) => r.value!.toString() === 'a5')!;
    expect(first.key!.toString()).toBe('key-5');
    expect(Buffer.from(first.headers.seq as Buffer | string).toString()).toBe('5');
    expect(Number(first.timestamp)).toBeGreaterThan(Date.now() - 120_000);
  });

  it('keeps a key on one partition, in send order, across sends awaited in turn', async () => {
    const topic = await newTopic();
    for (let round = 0; round < 3; round++) await producer.send([{ topic, records: keyed(30, 6, `r${round}-`) }]);
    const byKey = new Map<string, TopicRecord[]>();
    for (const r of await readAll(client, topic)) byKey.set(r.key!.toString(), [...(byKey.get(r.key!.toString()) ?? []), r]);
    expect(byKey.size).toBe(6);
    for (const [key, rs] of byKey) {
      expect(new Set(rs.map((r) => r.partition)).size, key).toBe(1);
      expect(rs.map((r) => r.value!.toString()), key).toEqual(rs.map((r) => r.value!.toString()).sort((x, y) => x.split('-')[0]!.localeCompare(y.split('-')[0]!) || Number(x.split('-')[1]) - Number(y.split('-')[1])));
    }
  });

  it('routes a key to the partition the Java client and kafkajs choose (murmur2 of the key)', async () => {
    const topic = await newTopic(6);
    const keys = Array.from({ length: 40 }, (_, i) => `tenant-${i}:appointment-${i * 7}`);
    await producer.send([{ topic, records: keys.map((key) => ({ key, value: Buffer.from(key) })) }]);
    // kafkajs' DefaultPartitioner is the reference (the Java client's murmur2, positive-masked).
    const partition = Partitioners.DefaultPartitioner();
    const expected = Object.fromEntries(keys.map((key) => [key, partition({ topic, partitionMetadata: Array.from({ length: 6 }, (_, p) => ({ partitionId: p, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] })), message: { key, value: null } })]));
    const actual = Object.fromEntries((await readAll(client, topic)).map((r) => [r.key!.toString(), r.partition]));
    expect(actual).toEqual(expected);
  });

  it('rejects a record larger than the broker accepts with a permanent KAFKA_REFUSED error', async () => {
    const topic = await newTopic(1);
    const err = await producer.send([{ topic, records: [{ key: 'big', value: Buffer.alloc(2 * 1024 * 1024, 1) }] }]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AcmeSyncError);
    expect((err as AcmeSyncError).retriable).toBe(false);
    expect((err as AcmeSyncError).code).toBe(ERROR_CODES.KAFKA_REFUSED);
  });

  it('consumes every record once per group with per-key order, and reports the assignment', async () => {
    const topic = await newTopic();
    await producer.send([{ topic, records: keyed(300, 30) }]);
    const seen = await startConsumer(client, [topic], id());
    consumers.push(seen.consumer);
    await vi.waitFor(() => expect(seen.batches.reduce((n, b) => n + b.records.length, 0)).toBe(300), { timeout: 60_000, interval: 50 });
    expect(seen.assignments.at(-1)).toEqual({ [topic]: [0, 1, 2] });
    const byKey = new Map<string, number[]>();
    for (const b of seen.batches) {
      expect(b.records.length).toBeGreaterThan(0);
      expect(b.firstOffset).toBe(b.records[0]!.offset);
      expect(BigInt(b.lastOffset) >= BigInt(b.records.at(-1)!.offset)).toBe(true);
      expect(BigInt(b.highWatermark) > BigInt(b.lastOffset)).toBe(true);
      for (const r of b.records) byKey.set(r.key!.toString(), [...(byKey.get(r.key!.toString()) ?? []), Number(r.value!.toString())]);
    }
    for (const [key, values] of byKey) expect(values, key).toEqual([...values].sort((x, y) => x - y));
    expect([...byKey.values()].flat().sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('fetches a paused partition again only once it is resumed', async () => {
    const topic = await newTopic(2);
    // Keys that land on partitions 0 and 1 (checked by reading them back).
    await producer.send([{ topic, records: keyed(20, 20, 'first-') }]);
    const partitionOf = new Map((await readAll(client, topic)).map((r) => [r.key!.toString(), r.partition]));
    const keyOn = (p: number) => [...partitionOf].find(([, q]) => q === p)![0];
    let resume: (() => void) | undefined;
    const seen = await startConsumer(client, [topic], id(), (batch, control) => {
      if (batch.partition === 0 && resume === undefined) resume = control.pause();
    });
    consumers.push(seen.consumer);
    await vi.waitFor(() => expect(seen.batches.reduce((n, b) => n + b.records.length, 0)).toBe(20), { timeout: 60_000, interval: 50 });
    expect(resume).toBeDefined();
    const on0 = () => seen.batches.filter((b) => b.partition === 0).reduce((n, b) => n + b.records.length, 0);
    const before0 = on0();
    // New records on both partitions; partition 1's arrive, partition 0's do not while paused.
    await producer.send([{ topic, records: [{ key: keyOn(0), value: Buffer.from('p0') }] }]);
    await producer.send([{ topic, records: [{ key: keyOn(1), value: Buffer.from('p1') }] }]);
    await vi.waitFor(() => expect(seen.batches.some((b) => b.records.some((r) => r.value!.toString() === 'p1'))).toBe(true), { timeout: 30_000, interval: 50 });
    expect(on0()).toBe(before0);
    resume!();
    await vi.waitFor(() => expect(seen.batches.some((b) => b.records.some((r) => r.value!.toString() === 'p0'))).toBe(true), { timeout: 30_000, interval: 50 });
  });

  it('moves a partition back with seek: the batch in hand goes stale and the next batch starts at the sought offset', async () => {
    const topic = await newTopic(1);
    await producer.send([{ topic, records: keyed(10, 1) }]);
    let staleAfterSeek: boolean | undefined;
    /** First offset of every batch handed over, resolved or not, in order. */
    const firsts: string[] = [];
    let soughtAt = -1;
    const seen = await startConsumer(client, [topic], id(), (batch, control) => {
      firsts.push(batch.firstOffset);
      if (soughtAt < 0 && batch.records.some((r) => r.offset === '9')) {
        soughtAt = firsts.length;
        seen.consumer.seek(topic, 0, '4');
        staleAfterSeek = control.isStale();
        return false; // not resolved: without the seek it would come again from its own first offset
      }
      return true;
    });
    consumers.push(seen.consumer);
    await vi.waitFor(() => expect(firsts.length).toBeGreaterThan(soughtAt > 0 ? soughtAt : Infinity), { timeout: 60_000, interval: 50 });
    expect(staleAfterSeek).toBe(true);
    expect(firsts[soughtAt]).toBe('4');
    await vi.waitFor(() => expect(seen.batches.flatMap((b) => b.records.map((r) => Number(r.offset))).slice(-6)).toEqual([4, 5, 6, 7, 8, 9]), { timeout: 30_000, interval: 50 });
  });

  it('lets a graceful stop finish the batch in hand: not stale, and disconnect waits for it', async () => {
    const topic = await newTopic(1);
    await producer.send([{ topic, records: keyed(5, 1) }]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let staleDuringStop: boolean | undefined;
    let finished = false;
    let inHand!: () => void;
    const started = new Promise<void>((resolve) => (inHand = resolve));
    const seen = await startConsumer(client, [topic], id(), async (_batch, control) => {
      inHand();
      await held;
      staleDuringStop = control.isStale();
      finished = true;
    });
    await started;
    const stopped = seen.consumer.disconnect();
    let disconnected = false;
    void stopped.then(() => (disconnected = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(disconnected).toBe(false);
    release();
    await stopped;
    expect(finished).toBe(true);
    expect(staleDuringStop).toBe(false);
  });

  it('starts a new member of the group from the offsets the group committed', async () => {
    const topic = await newTopic(1);
    await producer.send([{ topic, records: keyed(10, 1) }]);
    const groupId = id();
    const first = await startConsumer(client, [topic], groupId);
    await vi.waitFor(() => expect(first.batches.flatMap((b) => b.records)).toHaveLength(10), { timeout: 60_000, interval: 50 });
    await first.consumer.commitOffsets([{ topic, partition: 0, offset: '7' }]);
    await first.consumer.disconnect();
    const second = await startConsumer(client, [topic], groupId);
    consumers.push(second.consumer);
    await vi.waitFor(() => expect(second.batches.flatMap((b) => b.records.map((r) => r.offset))).toEqual(['7', '8', '9']), { timeout: 60_000, interval: 50 });
  });

  it('administers: creating a topic twice is no error, and metadata, offsets, cluster and group deletion answer', async () => {
    const topic = await newTopic(2);
    await admin.createTopics([{ topic, partitions: 2, replicationFactor: 1 }]);
    expect(await admin.listTopics()).toContain(topic);
    await producer.send([{ topic, records: keyed(8, 8) }]);
    const offsets = await admin.topicOffsets(topic);
    expect(offsets.map((o) => o.partition).sort()).toEqual([0, 1]);
    expect(offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0)).toBe(8);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThan(0);
    expect(cluster.clusterId).toEqual(expect.any(String));
    const groupId = id();
    const seen = await startConsumer(client, [topic], groupId);
    await vi.waitFor(() => expect(seen.batches.flatMap((b) => b.records)).toHaveLength(8), { timeout: 60_000, interval: 50 });
    await seen.consumer.commitOffsets([{ topic, partition: 0, offset: '1' }]);
    await seen.consumer.disconnect();
    await admin.deleteGroups([groupId]);
  });

  it('reads a topic range for tools: from an offset, before an offset, on chosen partitions', async () => {
    const topic = await newTopic(1);
    await producer.send([{ topic, records: keyed(20, 1) }]);
    const records: TopicRecord[] = [];
    const progress: number[] = [];
    await client.readTopic(topic, { until: { before: '15' }, from: () => '5', partitions: [0], onProgress: (read) => progress.push(read) }, (r) => records.push(r));
    expect(records.map((r) => Number(r.offset))).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(progress.at(-1)).toBe(10);
  });
});

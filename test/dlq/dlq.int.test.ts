import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DecodeError, ValidationError } from '../../src/errors/index.js';
import { toDlqMessage } from '../../src/consumers/runtime/dlq.js';
import type { InboundRecord } from '../../src/consumers/runtime/types.js';
import { REPLAY_HEADERS, describeDlqRecord, readDlq, replayDlq } from '../../src/dlq/index.js';
import { queryDlq, reindexDlq } from '../../src/dlq/records.js';

import { toOutboundEvent } from '../../src/transforms/acme-to-event.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  const producer = stack.kafka.producer();
  await producer.connect();
  const meta = { groupId: 'g-calendar', clientId: 'c-1', attempts: 1, now: Date.parse('2026-11-25T12:00:00Z') };
  const appointment = toOutboundEvent(
    'appointment',
    { id: 'apt_bad', owner_user_id: 'usr_1', contact_id: 'con_1', title: 'T', starts_at: null as unknown as string, ends_at: '2026-11-26T10:00:00Z', time_zone: 'UTC', location: null, status: 'scheduled', version: 1, created_at: '2026-11-25T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: null },
    { tenantId: 'tenant-a', source: 'WEBHOOK', receivedAt: Date.now(), eventId: randomUUID(), correlationId: null },
  );
  const avro = await stack.codec.encode('appointments', appointment.value);
  const record = (over: Partial<InboundRecord>): InboundRecord => ({
    topic: stack.topics.appointments, kind: 'appointments', partition: 0, offset: '7', key: appointment.key, value: appointment.value,
    schemaId: stack.schemaIds.appointments!, headers: { 'correlation-id': 'corr-9' }, timestamp: Date.now(), raw: avro, ...over,
  });
  await producer.send([{
    topic: stack.topics.dlq,
    records: [
      toDlqMessage({ record: record({}), error: new ValidationError('appointment has no start', { stage: 'validate' }) }, meta),
      toDlqMessage({ record: record({ offset: '8', key: 'tenant-b:act_1', value: null, raw: Buffer.from('not avro'), topic: stack.topics.activities, kind: 'activities', schemaId: -1 }), error: new DecodeError('Not a Confluent-framed Avro record') }, meta),
      toDlqMessage({ record: record({ offset: '9', headers: { [REPLAY_HEADERS.count]: '3' } }), error: new ValidationError('appointment has no start', { stage: 'validate' }) }, meta),
    ],
  }]);
  await producer.disconnect();
});
afterAll(async () => stack?.close());

describe('reading the DLQ', () => {
  it('answers from the index in PostgreSQL exactly what the topic holds, with the same filters, once records published before the index are reindexed (idempotently)', async () => {
    // Published straight to the topic (as before the index existed): not in the index yet.
    expect(await queryDlq(stack.pool, stack.topics.dlq)).toEqual([]);
    expect(await reindexDlq(stack.kafka, stack.pool, stack.topics.dlq)).toBe(3);
    expect(await reindexDlq(stack.kafka, stack.pool, stack.topics.dlq)).toBe(3);
    const filters = [{}, { tenantId: 'tenant-b' }, { stage: 'validate' }, { sourceTopic: stack.topics.activities }, { code: 'NOPE' }, { code: 'VALIDATION_FAILED', tenantId: 'tenant-a' }, { since: Date.now() + 60_000 }];
    for (const filter of filters) {
      const scanned = await readDlq(stack.kafka, stack.topics.dlq, filter);
      const indexed = await queryDlq(stack.pool, stack.topics.dlq, filter);
      expect(indexed, JSON.stringify(filter)).toEqual(scanned);
    }
    const [first] = await readDlq(stack.kafka, stack.topics.dlq);
    expect((await queryDlq(stack.pool, stack.topics.dlq, { ids: [first!.id] })).map((r) => r.id)).toEqual([first!.id]);
  });

  it('lists every record with its error context and filters by tenant, code, stage and source topic', async () => {
    const all = await readDlq(stack.kafka, stack.topics.dlq);
    expect(all).toHaveLength(3);
    expect(all.find((r) => r.error.sourceOffset === '7')!.error).toMatchObject({ sourceTopic: stack.topics.appointments, sourceOffset: '7', stage: 'validate', code: 'VALIDATION_FAILED', tenantId: 'tenant-a', acmeId: 'apt_bad', attempts: 1, consumer: 'g-calendar' });
    expect((await readDlq(stack.kafka, stack.topics.dlq, { tenantId: 'tenant-b' })).map((r) => r.error.code)).toEqual(['DECODE_FAILED']);
    expect(await readDlq(stack.kafka, stack.topics.dlq, { stage: 'validate' })).toHaveLength(2);
    expect(await readDlq(stack.kafka, stack.topics.dlq, { sourceTopic: stack.topics.activities })).toHaveLength(1);
    expect(await readDlq(stack.kafka, stack.topics.dlq, { code: 'NOPE' })).toHaveLength(0);
  });

  it('shows a record with its payload decoded, or the raw text and why it could not be decoded', async () => {
    const all = await readDlq(stack.kafka, stack.topics.dlq);
    const good = all.find((r) => r.error.sourceOffset === '7');
    const bad = all.find((r) => r.error.sourceOffset === '8');
    // Selecting by DLQ id finds the same record.
    expect((await readDlq(stack.kafka, stack.topics.dlq, { ids: [good!.id] })).map((r) => r.id)).toEqual([good!.id]);
    expect((await describeDlqRecord(stack.codec, good!)).payload).toMatchObject({ acme_id: 'apt_bad', starts_at: null });
    const described = await describeDlqRecord(stack.codec, bad!);
    expect(described.payload).toBe('not avro');
    expect(described.decodeError).toMatch(/Confluent-framed/);
  });
});

describe('replaying the DLQ', () => {
  const sourceCount = async () => (await stack.admin.fetchTopicOffsets(stack.topics.appointments)).reduce((n, p) => n + Number(p.high), 0);

  it('sends nothing in a dry run, then replays to the source topic once, stopping at the replay limit', async () => {
    const producer = stack.kafka.producer();
    await producer.connect();
    const options = { producer, pool: stack.pool, dlqTopic: stack.topics.dlq, allowedTopics: new Set([stack.topics.appointments]), maxReplays: 3 };
    const records = await readDlq(stack.kafka, stack.topics.dlq);
    const before = await sourceCount();

    const dry = await replayDlq(records, { ...options, dryRun: true });
    expect(dry.byOutcome).toMatchObject({ 'would-replay': 1, 'replay-limit': 1, 'no-source-topic': 1 });
    expect(await sourceCount()).toBe(before);

    const first = await replayDlq(records, options);
    expect(first.byOutcome).toMatchObject({ replayed: 1, 'replay-limit': 1, 'no-source-topic': 1 });
    expect(await sourceCount()).toBe(before + 1);

    const second = await replayDlq(records, options);
    expect(second.byOutcome).toMatchObject({ replayed: 0, 'already-replayed': 1 });
    expect(await sourceCount()).toBe(before + 1);
    await producer.disconnect();
  });

  it('replays the original key and bytes without the error headers, with the replay count', async () => {
    const consumer = stack.kafkajs.consumer({ groupId: `${stack.id}-replayed` });
    await consumer.connect();
    await consumer.subscribe({ topic: stack.topics.appointments, fromBeginning: true });
    const seen = await new Promise<{ key: string; headers: Record<string, string>; value: Buffer }>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => resolve({
          key: message.key!.toString(),
          value: message.value!,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        }),
      }).catch(reject);
    });
    await consumer.disconnect();
    expect(seen.key).toBe('tenant-a:apt_bad');
    expect((await stack.codec.decode(seen.value)).value).toMatchObject({ acme_id: 'apt_bad' });
    expect(seen.headers[REPLAY_HEADERS.count]).toBe('1');
    expect(seen.headers['correlation-id']).toBe('corr-9');
    expect(Object.keys(seen.headers).filter((k) => k.startsWith('acme-sync.error.'))).toEqual([]);
  });

  it('paces replays at the requested rate', async () => {
    const producer = stack.kafka.producer();
    await producer.connect();
    const waits: number[] = [];
    const original = (await readDlq(stack.kafka, stack.topics.dlq)).find((r) => r.error.sourceOffset === '7')!;
    const many = Array.from({ length: 5 }, (_, i) => ({ ...original, id: `0:${100 + i}`, offset: String(100 + i) }));
    await replayDlq(many, {
      producer, pool: stack.pool, dlqTopic: stack.topics.dlq, allowedTopics: new Set([stack.topics.appointments]), ratePerSecond: 2,
      sleep: async (ms) => { waits.push(ms); await new Promise((r) => setTimeout(r, ms)); },
    });
    // 5 records at 2/s: the first goes at once, each later one waits for its slot (~500 ms apart).
    expect(waits.length).toBeGreaterThanOrEqual(3);
    for (const w of waits) expect(w).toBeLessThanOrEqual(500);
    await producer.disconnect();
  });
});

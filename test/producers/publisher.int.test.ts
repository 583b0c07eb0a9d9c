import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { ERROR_CODES } from '../../src/errors/index.js';

import { createEventPublisher } from '../../src/producers/publisher.js';
import { toOutboundEvent, type OutboundEvent } from '../../src/transforms/acme-to-event.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { createKafkajsClient } from '../../src/kafka/kafkajs/index.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

function contact(i: number): OutboundEvent {
  return toOutboundEvent(
    'contact',
    { id: `con_${i}`, first_name: 'A', last_name: `N${i}`, email: null, phone: null, company: null, version: 1, created_at: '2026-11-25T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: null },
    { tenantId: 'pub', source: 'WEBHOOK', receivedAt: Date.now(), eventId: randomUUID(), correlationId: `corr-${i}` },
  );
}

async function countOnTopic(topic: string): Promise<number> {
  const offsets = await stack.admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

describe('the batching publisher', () => {
  it('gathers concurrent callers into few Kafka batches and resolves each after the write is acknowledged', async () => {
    const producer = stack.kafka.producer();
    await producer.connect();
    const batches: number[] = [];
    const publisher = createEventPublisher({
      producer, codec: stack.codec, topics: stack.topics, lingerMs: 20,
      headers: (e) => ({ 'correlation-id': e.value.correlation_id ?? '' }),
      onBatch: ({ events }) => batches.push(events),
    });
    const before = await countOnTopic(stack.topics.contacts);
    await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.publish([contact(i)])));
    // Every caller's promise resolved, so every record is on the broker now.
    expect((await countOnTopic(stack.topics.contacts)) - before).toBe(100);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(100);
    expect(batches.length).toBeLessThan(10);
    await publisher.close();
    await producer.disconnect();
  });

  it('fails only the caller whose record does not fit the schema', async () => {
    const producer = stack.kafka.producer();
    await producer.connect();
    const publisher = createEventPublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 20 });
    const bad = { ...contact(1), value: { ...contact(1).value, acme_version: 'three' } } as unknown as OutboundEvent;
    const results = await Promise.allSettled([publisher.publish([contact(2)]), publisher.publish([bad]), publisher.publish([contact(3)])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ERROR_CODES.VALIDATION_FAILED, retriable: false });
    await publisher.close();
    await producer.disconnect();
  });

  it('rejects every waiting caller with a transient KAFKA_UNAVAILABLE when Kafka does not acknowledge in time', async () => {
    // A client whose broker address refuses connections: the send can never be acknowledged.
    const deadKafka = new Kafka({ brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 }, connectionTimeout: 200 });
    const producer = createKafkajsClient({ kafka: deadKafka }).producer();
    const publisher = createEventPublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 5, ackTimeoutMs: 1_500 });
    const results = await Promise.allSettled([publisher.publish([contact(4)]), publisher.publish([contact(5)])]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: ERROR_CODES.KAFKA_UNAVAILABLE, retriable: true });
    }
    await publisher.close();
  });

  it('refuses new events once closed, as retriable', async () => {
    const producer = stack.kafka.producer();
    const publisher = createEventPublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 5 });
    await publisher.close();
    await expect(publisher.publish([contact(6)])).rejects.toMatchObject({ code: ERROR_CODES.KAFKA_UNAVAILABLE });
  });
});

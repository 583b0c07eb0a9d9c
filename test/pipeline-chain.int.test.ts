import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { recordKey } from '../src/kafka/index.js';
import { upsertContacts } from '../src/consumers/sinks/contacts.js';
import { toContactRow } from '../src/transforms/contact.js';
import type { AcmeContactEvent } from '../src/transforms/types.js';
import { createInputProducer, createIsolatedStack, type IsolatedStack } from './helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

function contactEvent(overrides: Partial<AcmeContactEvent> = {}): AcmeContactEvent {
  return {
    event_id: randomUUID(),
    tenant_id: 'tenant-a',
    acme_id: 'con_1',
    acme_version: 1,
    acme_updated_at: Date.parse('2026-11-20T10:00:00Z'),
    operation: 'UPSERT',
    source: 'WEBHOOK',
    received_at: Date.parse('2026-11-20T10:00:01Z'),
    correlation_id: 'corr-1',
    first_name: 'Ada',
    last_name: 'Lovelace',
    email: 'ada@example.com',
    phone: '+44 20 7946 0000',
    company: 'Analytical Engines',
    ...overrides,
  };
}

describe('the chain from Avro on Kafka to PostgreSQL', () => {
  it('carries a contact registered, produced, consumed, decoded and written to the contacts table', async () => {
    const events = [
      contactEvent(),
      contactEvent({ acme_id: 'con_2', first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com' }),
      // An older version arriving later must not overwrite the newer one.
      contactEvent({ acme_version: 2, phone: '+44 20 7946 9999' }),
      contactEvent({ acme_version: 1, phone: 'stale' }),
    ];
    const producer = createInputProducer(stack);
    await producer.connect();
    await producer.send({
      topic: stack.topics.contacts,
      acks: -1,
      messages: await Promise.all(events.map(async (e) => ({ key: recordKey(e.tenant_id, e.acme_id), value: await stack.codec.encode('contacts', e) }))),
    });
    await producer.disconnect();

    const consumer = stack.kafkajs.consumer({ groupId: `${stack.id}-chain` });
    await consumer.connect();
    await consumer.subscribe({ topic: stack.topics.contacts, fromBeginning: true });
    const decoded: AcmeContactEvent[] = [];
    const schemaIds = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            const rows = [];
            for (const message of batch.messages) {
              const { schemaId, value } = await stack.codec.decode<AcmeContactEvent>(message.value);
              schemaIds.add(schemaId);
              decoded.push(value);
              rows.push(toContactRow(value));
            }
            await upsertContacts(stack.pool, rows);
            if (decoded.length >= events.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    expect(decoded.map((e) => e.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    expect([...schemaIds]).toEqual([stack.schemaIds.contacts]);
    const { rows } = await stack.pool.query('SELECT acme_id, acme_version, first_name, last_name, email, phone FROM contacts ORDER BY acme_id');
    expect(rows).toEqual([
      { acme_id: 'con_1', acme_version: '2', first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+44 20 7946 9999' },
      { acme_id: 'con_2', acme_version: '1', first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', phone: '+44 20 7946 0000' },
    ]);
  });
});

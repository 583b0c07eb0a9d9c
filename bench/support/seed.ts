/**
 * Puts a dataset on the real stack: tenants (with a webhook secret, through the
 * tenant repository), their Acme users and contacts in PostgreSQL (so the flows
 * enrich from the database and never call Acme), and the backlog on Kafka, Avro
 * encoded with the registered schemas.
 */
import type { Message } from 'kafkajs';
import { upsertContacts } from '../../src/consumers/sinks/contacts.js';
import type { TopicKind } from '../../src/kafka/index.js';
import { createInputProducer } from '../../test/helpers/isolated-stack.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import type { Dataset } from './dataset.js';
import type { IsolatedStack } from './stack.js';

const CHUNK = 5_000;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function seedState(stack: IsolatedStack, data: Dataset): Promise<void> {
  const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
  for (const t of data.tenants) {
    await tenants.create({ id: t.id, name: `Bench ${t.id}`, acmeBaseUrl: 'http://127.0.0.1:9/acme', authKind: 'api_key', acmeAccountId: t.accountId, secrets: { apiKey: 'bench', webhookSecrets: [t.webhookSecret] } });
  }
  for (const part of chunks(data.users, CHUNK)) await tenants.upsertAcmeUsers(part);
  for (const part of chunks(data.contacts, CHUNK)) await upsertContacts(stack.pool, part);
}

export interface Produced {
  events: number;
  bytes: number;
  seconds: number;
}

/** Encode and send a backlog to one input topic; returns the mean encoded size. */
/** `perSend`: records per sendBatch — Kafka hands consumers whole producer batches, so it bounds how small a fetch can be. */
export async function produceBacklog(stack: IsolatedStack, kind: TopicKind, events: readonly { key: string; value: unknown }[], perSend = CHUNK): Promise<Produced> {
  const producer = createInputProducer(stack);
  await producer.connect();
  const started = performance.now();
  let bytes = 0;
  try {
    for (const part of chunks(events, perSend)) {
      const messages: Message[] = [];
      for (const e of part) {
        const value = await stack.codec.encode(kind, e.value);
        bytes += value.length;
        messages.push({ key: e.key, value });
      }
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: stack.topics[kind], messages }] });
    }
  } finally {
    await producer.disconnect();
  }
  return { events: events.length, bytes, seconds: (performance.now() - started) / 1000 };
}

/** Empty what a drain writes, keep tenants, users and contacts: every repetition starts from the same state. */
export async function resetFlowState(stack: IsolatedStack): Promise<void> {
  await stack.pool.query('TRUNCATE calendar_events, activity_facts, touchpoint_counts, consumer_offsets, consumer_ledger, dlq_entries, outbox');
}

/**
 * Test harness for the consumer runner: an isolated stack, an in-process Acme sandbox
 * with tenants of ours wired to it, Avro event builders, a producer for input events
 * and readers for what the runner wrote (tables, output topic, DLQ).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import type { Producer } from 'kafkajs';
import { pino } from 'pino';
import { acmeClientsFor } from '../../../src/acme/client.js';
import { createCalendarFlow } from '../../../src/consumers/calendar/index.js';
import { createConsumerRunner, createTenantDirectory, type ConsumerRunner, type Flow, type FlowContext, type RunnerOptions } from '../../../src/consumers/runtime/index.js';
import { recordKey, type KafkaProducer } from '../../../src/kafka/index.js';
import { createMetricsRegistry } from '../../../src/metrics/index.js';
import type { TenantRepository } from '../../../src/tenants/repository.js';
import type { AcmeAppointmentEvent, AcmeContactEvent } from '../../../src/transforms/types.js';
import { startSandbox, tenantsOf, type RunningSandbox } from '../../acme/sandbox-tenants.js';
import { createInputProducer, createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { sandboxOutbound } from '../../acme/sandbox-tenants.js';

export const silent = pino({ level: 'silent' });
const T0 = Date.parse('2026-03-10T09:00:00Z');

export function appointment(o: Partial<AcmeAppointmentEvent> & { tenant_id: string; acme_id: string }): AcmeAppointmentEvent {
  return {
    event_id: randomUUID(), acme_version: 1, acme_updated_at: T0, operation: 'UPSERT', source: 'WEBHOOK', received_at: Date.now(), correlation_id: null,
    owner_user_id: null, contact_id: null, title: 'Demo', starts_at: T0 + 86_400_000, ends_at: T0 + 86_400_000 + 3_600_000, time_zone: 'Europe/Berlin',
    location: null, status: 'SCHEDULED', ...o,
  };
}

export function contact(o: Partial<AcmeContactEvent> & { tenant_id: string; acme_id: string }): AcmeContactEvent {
  return {
    event_id: randomUUID(), acme_version: 1, acme_updated_at: T0, operation: 'UPSERT', source: 'WEBHOOK', received_at: Date.now(), correlation_id: null,
    first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000', company: 'Analytical Engines', ...o,
  };
}

export type InputEvent = { kind: 'appointments'; value: AcmeAppointmentEvent } | { kind: 'contacts'; value: AcmeContactEvent } | { kind: 'appointments' | 'contacts'; key: string; raw: Buffer };

export interface Harness {
  stack: IsolatedStack;
  acme: RunningSandbox;
  tenants: TenantRepository;
  /** kafkajs, for feeding inputs from the outside (a chosen partition, raw batches). */
  producer: Producer;
  /** The port's producer (connected), for code under test that takes one. */
  kafkaProducer: KafkaProducer;
  produce(events: readonly InputEvent[]): Promise<void>;
  runner(options?: Partial<RunnerOptions> & { pool?: pg.Pool }): ConsumerRunner;
  context(pool?: pg.Pool): FlowContext;
  calendarRows(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export async function createHarness(stack: IsolatedStack): Promise<Harness> {
  const acme = await startSandbox();
  const { tenants } = tenantsOf(stack.pool, stack.config);
  const producer = createInputProducer(stack);
  await producer.connect();
  const kafkaProducer = stack.kafka.producer();
  await kafkaProducer.connect();
  const runners: ConsumerRunner[] = [];
  const context = (pool: pg.Pool = stack.pool): FlowContext => {
    const { tenants: repo } = tenantsOf(pool, stack.config);
    const clients = acmeClientsFor({ tenants: repo, outbound: sandboxOutbound(), retry: { retries: 2, initialDelayMs: 50, maxDelayMs: 200, deadlineMs: 2_000 } });
    return { now: Date.now, tenants: createTenantDirectory({ repository: repo, acme: clients, ttlMs: 1_000 }), acme: clients, logger: silent };
  };
  return {
    stack, acme, tenants, producer, kafkaProducer,
    async produce(events) {
      const messages = await Promise.all(
        events.map(async (e) =>
          'raw' in e
            ? { topic: stack.topics[e.kind], key: e.key, value: e.raw }
            : { topic: stack.topics[e.kind], key: recordKey(e.value.tenant_id, e.value.acme_id), value: await stack.codec.encode(e.kind, e.value) },
        ),
      );
      // One send per event keeps the order of the list within each partition.
      for (const m of messages) await producer.send({ topic: m.topic, acks: -1, messages: [{ key: m.key, value: m.value }] });
    },
    runner(options = {}) {
      const pool = options.pool ?? stack.pool;
      const runner = createConsumerRunner({
        kafka: stack.kafka, pool, codec: stack.codec, topics: stack.topics, flow: createCalendarFlow({ pool }) as Flow,
        groupId: `${stack.id}-calendar`, context: context(pool), logger: silent, metrics: createMetricsRegistry({ service: 'test', collectDefault: false }),
        sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
        ...options,
      });
      runners.push(runner);
      return runner;
    },
    context,
    async calendarRows() {
      const { rows } = await stack.pool.query('SELECT * FROM calendar_events ORDER BY tenant_id, acme_appointment_id');
      return rows;
    },
    async close() {
      await Promise.all(runners.map((r) => r.stop().catch(() => undefined)));
      await producer.disconnect();
      await kafkaProducer.disconnect();
      await acme.sandbox.close();
    },
  };
}

/**
 * One isolated stack and harness for the calling test file: created in beforeAll,
 * closed (harness, then stack) in afterAll. The returned object stands for the harness
 * inside tests; touching it outside them (at import time) is a mistake and says so.
 */
export function useHarness(): Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    const stack = await createIsolatedStack(inject('stack'));
    try {
      harness = await createHarness(stack);
    } catch (err) {
      await stack.close();
      throw err;
    }
  });
  afterAll(async () => {
    await harness?.close();
    await harness?.stack.close();
  });
  return new Proxy({} as Harness, {
    get(_, property) {
      if (harness === undefined) throw new Error('useHarness(): the harness exists inside tests and hooks only');
      return Reflect.get(harness, property);
    },
  });
}

export interface TopicRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Everything currently in a topic (from the beginning up to the high watermarks). */
export async function readTopic(stack: IsolatedStack, topic: string): Promise<TopicRecord[]> {
  const offsets = await stack.admin.fetchTopicOffsets(topic);
  const wanted = offsets.filter((o) => BigInt(o.high) > BigInt(o.low));
  if (wanted.length === 0) return [];
  const consumer = stack.kafkajs.consumer({ groupId: `${stack.id}-reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: TopicRecord[] = [];
  const remaining = new Map(wanted.map((o) => [o.partition, BigInt(o.high)]));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
          out.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value, headers });
          if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}

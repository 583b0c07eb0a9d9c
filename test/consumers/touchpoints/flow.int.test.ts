/**
 * The touch-point flow end to end on the real stack: the Acme sandbox's generator
 * logs, edits and deletes activities; every version it emitted becomes an Avro event
 * on Kafka (plus redeliveries of older versions and one bad record); C1's runner with
 * our flow consumes them; the counts must equal the sandbox's truth, the compacted
 * output topic must end on the same counts, and a crash-style redelivery of the whole
 * topic must change nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createSandbox, type Sandbox, type Truth } from '../../../sandbox/src/index.js';
import { createConsumerRunner, createTenantDirectory, DLQ_HEADERS, isBalanced, readLedger, type ConsumerRunner, type FlowContext } from '../../../src/consumers/runtime/index.js';
import { acmeClientsFor } from '../../../src/acme/client.js';
import { createTouchpointFlow } from '../../../src/consumers/touchpoints/index.js';
import { recordKey } from '../../../src/kafka/index.js';
import { createMetricsRegistry } from '../../../src/metrics/index.js';
import { createTenantRepository, type TenantRepository } from '../../../src/tenants/repository.js';
import { createSecretBox } from '../../../src/tenants/secret-box.js';
import { toOutboundEvent } from '../../../src/transforms/acme-to-event.js';
import { dayFromNumber } from '../../../src/transforms/touchpoints.js';
import type { AcmeActivityEvent } from '../../../src/transforms/types.js';
import type { AcmeActivity } from '../../../src/acme/types.js';
import { createInputProducer, createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { sandboxOutbound } from '../../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let sandbox: Sandbox;
let truth: Truth;
let repository: TenantRepository;
let producer: Producer;
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  sandbox = createSandbox({ seed: 11, rateLimit: null });
  const run = sandbox.startGenerator({ seed: 11, accounts: 2, users: 3, contacts: 4, events: 240, rate: 0, webhookUrl: null });
  truth = await run.done;
  // The flow asks Acme about contacts it has not seen (the unknown-contact rule).
  const acmeUrl = await sandbox.listen({ port: 0 });
  repository = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
  for (const account of truth.accounts) {
    const apiKey = run.accounts.find((a) => a.account_id === account.account_id)!.api_key;
    // Our tenant ID is the Acme account ID; its users (with their time zones) are already known.
    await repository.create({ id: account.account_id, name: account.name, acmeBaseUrl: acmeUrl, authKind: 'api_key', secrets: { apiKey }, settings: { defaultTimeZone: 'UTC' } });
    await repository.upsertAcmeUsers(account.users.map((u) => ({ tenantId: account.account_id, acmeUserId: u.id, email: u.email, name: u.name, timeZone: u.time_zone })));
  }
  producer = createInputProducer(stack);
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await sandbox?.close();
  await stack?.close();
});

/** Every activity version the sandbox emitted, as the edge would publish it. */
function emittedActivityEvents(): AcmeActivityEvent[] {
  return sandbox.deliveries
    .events()
    .filter(({ event }) => event.type.startsWith('activity.') && 'object' in event.data)
    .map(({ event }) => {
      const object = (event.data as { object: AcmeActivity }).object;
      const meta = { tenantId: event.account_id, source: 'WEBHOOK' as const, receivedAt: Date.parse(event.occurred_at), eventId: event.id, correlationId: null };
      return toOutboundEvent('activity', object, meta).value as AcmeActivityEvent;
    });
}

async function publish(events: readonly AcmeActivityEvent[]): Promise<void> {
  const messages = await Promise.all(events.map(async (e) => ({ key: recordKey(e.tenant_id, e.acme_id), value: await stack.codec.encode('activities', e) })));
  await producer.send({ topic: stack.topics.activities, acks: -1, messages });
}

function startRunner(groupId: string): ConsumerRunner {
  const context: FlowContext = {
    now: Date.now,
    tenants: createTenantDirectory({ repository, acme: () => ({ get: async () => { throw new Error('every Acme user is known: the flow must not call Acme'); } }) }),
    acme: acmeClientsFor({ tenants: repository, outbound: sandboxOutbound() }),
    logger,
  };
  return createConsumerRunner({
    kafka: stack.kafka, pool: stack.pool, codec: stack.codec, topics: stack.topics, flow: createTouchpointFlow({ pool: stack.pool }), groupId, context, logger,
    metrics: createMetricsRegistry({ service: 'test', collectDefault: false }), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000,
  });
}

/** Wait (not a timed assertion: the deadline only bounds a hang) until PostgreSQL holds every partition's end offset. */
async function consumedAll(groupId: string, runner: ConsumerRunner): Promise<void> {
  const ends = await stack.admin.fetchTopicOffsets(stack.topics.activities);
  const expected = ends.reduce((sum, p) => sum + Number(p.high), 0);
  const stopped = runner.done.then(() => 'stopped', (err: unknown) => err);
  let outcome: unknown;
  void stopped.then((o) => (outcome = o));
  await vi.waitFor(async () => {
    if (outcome !== undefined) throw new Error(`runner ended before the end of ${stack.topics.activities}: ${String(outcome)}`);
    const { rows } = await stack.pool.query<{ total: string | null }>('SELECT sum(next_offset) AS total FROM consumer_offsets WHERE group_id = $1 AND topic = $2', [groupId, stack.topics.activities]);
    expect(Number(rows[0]?.total ?? 0), `group ${groupId} at the end of ${stack.topics.activities}`).toBe(expected);
  }, { timeout: 60_000, interval: 200 });
}

async function tableCounts(): Promise<Record<string, number>> {
  const { rows } = await stack.pool.query<{ tenant_id: string; acme_user_id: string; day: string; channel: string; count: number }>(
    'SELECT tenant_id, acme_user_id, day::text AS day, channel, count FROM touchpoint_counts WHERE count > 0',
  );
  return Object.fromEntries(rows.map((r) => [`${r.tenant_id}:${r.acme_user_id}:${r.day}:${r.channel}`, r.count]));
}

/** The compacted output topic read as a table: the last value per key. */
async function outputTable(): Promise<{ messages: number; latest: Record<string, { count: number; day: number; user_id: string | null }> }> {
  const ends = await stack.admin.fetchTopicOffsets(stack.topics.touchpoints);
  const expected = ends.reduce((sum, p) => sum + Number(p.high), 0);
  const consumer = stack.kafkajs.consumer({ groupId: `${stack.id}-out-${randomUUID()}` });
  const latest: Record<string, { count: number; day: number; user_id: string | null }> = {};
  let messages = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: stack.topics.touchpoints, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    if (expected === 0) return resolve();
    consumer
      .run({
        eachMessage: async ({ message }) => {
          latest[message.key!.toString()] = (await stack.codec.decode<{ count: number; day: number; user_id: string | null }>(message.value)).value;
          if (++messages === expected) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return { messages, latest };
}

function truthCounts(): Record<string, number> {
  return Object.fromEntries(truth.touch_points.map((t) => [`${t.account_id}:${t.user_id}:${t.day}:${t.channel === 'email' ? 'EMAIL' : 'PHONE'}`, t.count]));
}

describe('the touch-point flow through Kafka with the consumer runner', () => {
  it('counts exactly what Acme holds, despite redelivered older versions, and dead-letters the bad record', async () => {
    const emitted = emittedActivityEvents();
    expect(emitted.length).toBeGreaterThan(100);
    expect(emitted.some((e) => e.acme_version > 1)).toBe(true);
    expect(emitted.some((e) => e.operation === 'DELETE')).toBe(true);
    // Redeliveries: every fifth version again after everything (older than what was already counted).
    const redelivered = emitted.filter((_, i) => i % 5 === 0);
    const bad: AcmeActivityEvent = { ...emitted.find((e) => e.activity_type === 'email')!, event_id: randomUUID(), acme_id: 'act_without_user', acme_version: 1, user_id: null, operation: 'UPSERT' };
    await publish(emitted);
    await publish([...redelivered, bad]);

    const groupId = `${stack.id}-touchpoints`;
    const runner = startRunner(groupId);
    await runner.start();
    await consumedAll(groupId, runner);
    await runner.stop();

    const expected = truthCounts();
    expect(Object.keys(expected).length).toBeGreaterThan(5);
    expect(await tableCounts()).toEqual(expected);

    const out = await outputTable();
    const nonZero = Object.fromEntries(Object.entries(out.latest).filter(([, v]) => v.count > 0).map(([k, v]) => [k, v.count]));
    expect(nonZero).toEqual(expected);
    // The key's day and the Avro date agree, and our user is the Acme user's email.
    const emails = new Map(truth.accounts.flatMap((a) => a.users.map((u) => [u.id, u.email] as const)));
    for (const [key, value] of Object.entries(out.latest)) {
      const [, acmeUserId, day] = key.split(':');
      expect(dayFromNumber(value.day)).toBe(day);
      expect(value.user_id).toBe(emails.get(acmeUserId!));
    }

    const dlq = await readAll(stack.topics.dlq);
    expect(dlq.map((h) => [h[DLQ_HEADERS.acmeId], h[DLQ_HEADERS.stage], h[DLQ_HEADERS.code]])).toEqual([['act_without_user', 'validate', 'VALIDATION_FAILED']]);

    const ledger = await readLedger(stack.pool, groupId);
    expect(ledger.reduce((sum, row) => sum + row.received, 0)).toBe(emitted.length + redelivered.length + 1);
    expect(ledger.every(isBalanced)).toBe(true);
    expect(ledger.reduce((sum, row) => sum + row.skipped, 0)).toBeGreaterThanOrEqual(redelivered.length);
  });

  it('changes no count and publishes nothing when the whole topic is consumed again after a crash lost the offsets', async () => {
    const before = await tableCounts();
    const outputsBefore = (await outputTable()).messages;
    // As if the offsets were never stored: the sink alone must make the replay a no-op.
    const groupId = `${stack.id}-touchpoints-replay`;
    const runner = startRunner(groupId);
    await runner.start();
    await consumedAll(groupId, runner);
    await runner.stop();
    expect(await tableCounts()).toEqual(before);
    expect((await outputTable()).messages).toBe(outputsBefore);
    const ledger = await readLedger(stack.pool, groupId);
    expect(ledger.reduce((sum, row) => sum + row.written, 0)).toBe(0);
  });
});

async function readAll(topic: string): Promise<Record<string, string>[]> {
  const ends = await stack.admin.fetchTopicOffsets(topic);
  const expected = ends.reduce((sum, p) => sum + Number(p.high), 0);
  const consumer = stack.kafkajs.consumer({ groupId: `${stack.id}-read-${randomUUID()}` });
  const out: Record<string, string>[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    if (expected === 0) return resolve();
    consumer
      .run({
        eachMessage: async ({ message }) => {
          out.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
          if (out.length === expected) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return out;
}

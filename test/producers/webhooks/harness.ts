/**
 * What the edge's integration tests share: an edge on the file's isolated stack,
 * tenants in its PostgreSQL schema, signed Acme deliveries, and reading back what
 * reached Kafka (decoded from Avro, with headers).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { IHeaders, Kafka } from 'kafkajs';
import { createSecret, signatureHeader } from '../../../sandbox/src/webhooks/signing.js';
import { createLogger } from '../../../src/logger.js';
import { createMetricsRegistry, type Registry } from '../../../src/metrics/index.js';
import { createEdgeServer, type EdgeServerOptions } from '../../../src/producers/edge-server.js';
import type { NewTenant } from '../../../src/tenants/repository.js';
import type { IsolatedStack } from '../../helpers/isolated-stack.js';

export interface TestEdge {
  app: FastifyInstance;
  metrics: Registry;
  /** Events per Kafka batch the publisher sent (its onBatch hook). */
  batches: number[];
}

export async function startEdge(stack: IsolatedStack, overrides: Partial<EdgeServerOptions> = {}): Promise<TestEdge> {
  const metrics = createMetricsRegistry({ service: 'edge-test', collectDefault: false });
  const batches: number[] = [];
  const app = await createEdgeServer({
    config: stack.config,
    logger: createLogger({ level: 'silent', name: 'edge-test' }),
    codec: stack.codec,
    topics: stack.topics,
    kafka: stack.kafka,
    metrics,
    publisher: { onBatch: ({ events }) => batches.push(events) },
    ...overrides,
  });
  return { app, metrics, batches };
}

export function tenantId(): string {
  return `t-${randomBytes(4).toString('hex')}`;
}

export async function addTenant(edge: TestEdge, input: Partial<NewTenant> & { id: string }): Promise<void> {
  await edge.app.tenantRepository.create({ name: input.id, acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', ...input, secrets: { webhookSecrets: [createSecret()], ...input.secrets } });
}

export async function secretsOf(edge: TestEdge, id: string): Promise<string[]> {
  return (await edge.app.tenantRepository.getWithSecrets(id))!.secrets.webhookSecrets;
}

let seq = 0;
export function eventId(): string {
  seq += 1;
  return `evt_${randomBytes(4).toString('hex')}${seq}`;
}

export function contactObject(id: string, version = 1, overrides: Record<string, unknown> = {}) {
  return { id, first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000', company: 'Engines', version, created_at: '2025-03-06T09:00:00.000Z', updated_at: `2025-03-06T09:${String(version).padStart(2, '0')}:00.000Z`, deleted_at: null, ...overrides };
}

export function webhookEvent(id: string, type: string, data: unknown, accountId = 'acc_test') {
  return { id, type, account_id: accountId, occurred_at: '2025-03-06T09:30:00.000Z', data };
}

export interface SignedDelivery {
  headers: Record<string, string>;
  body: string;
}

/** Headers and body exactly as Acme sends them (sandbox signing code). */
export function sign(body: string | object, secrets: string[], options: { id?: string; timestampSeconds?: number } = {}): SignedDelivery {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const id = options.id ?? (typeof body === 'object' && body !== null && 'id' in body ? String((body as { id: unknown }).id) : eventId());
  const ts = options.timestampSeconds ?? Math.floor(Date.now() / 1000);
  return { body: text, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader(secrets, id, ts, text) } };
}

export async function topicSize(stack: IsolatedStack, topic: string): Promise<number> {
  const offsets = await stack.admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

export async function sizes(stack: IsolatedStack): Promise<Record<string, number>> {
  const kinds = ['appointments', 'contacts', 'activities'] as const;
  return Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await topicSize(stack, stack.topics[k])] as const)));
}

export interface Consumed<T = Record<string, unknown>> {
  topic: string;
  key: string;
  value: T;
  headers: Record<string, string>;
}

function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString() : String(v)]));
}

/** Everything on the topics from the beginning, once at least `count` records are there. */
export async function consume<T = Record<string, unknown>>(stack: IsolatedStack, kafka: Kafka, topics: string[], count: number): Promise<Consumed<T>[]> {
  const consumer = kafka.consumer({ groupId: `${stack.id}-read-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const out: Consumed<T>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ topic, message }) => {
            const { value } = await stack.codec.decode<T>(message.value);
            out.push({ topic, key: message.key?.toString() ?? '', value, headers: headerStrings(message.headers) });
            if (out.length >= count) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

export async function metricValue(metrics: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}

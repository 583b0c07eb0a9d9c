/**
 * The two edges under load, both built by the same `createEdge` (src/processes/edge.ts):
 *  - the real one: verify, map to Avro, publish through the batching publisher over
 *    the idempotent producer, answer after Kafka acknowledged (acks=all);
 *  - the "Kafka write off" baseline: the same app with an injected publisher
 *    (`eventPublisher`) — the project's own batching publisher (Avro encode, headers,
 *    metrics) over a producer that acknowledges at once without a request to Kafka,
 *    with linger 0 (nothing to gather when the acknowledgement is free). Only the
 *    Kafka round trip differs (issue 14: the old baseline was a hand-built fastify app).
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry, type Registry } from '../../src/metrics/index.js';
import { createEdge } from '../../src/processes/edge.js';
import { createEventPublisher } from '../../src/producers/publisher.js';
import type { ObjectFetcher } from '../../src/producers/webhooks/route.js';
import type { IsolatedStack } from './stack.js';
import type { KafkaProducer } from '../../src/kafka/index.js';

export interface RunningEdge {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

const noFetch: ObjectFetcher = async () => {
  throw new Error('bench webhooks carry full payloads');
};

function configWith(stack: IsolatedStack, extra: Record<string, string>): Config {
  const c = stack.config;
  return loadConfig({
    KAFKA_BROKERS: c.KAFKA_BROKERS.join(','), SCHEMA_REGISTRY_URL: c.SCHEMA_REGISTRY_URL, DATABASE_URL: c.DATABASE_URL, DATABASE_SCHEMA: c.DATABASE_SCHEMA,
    KAFKA_TOPIC_PREFIX: c.KAFKA_TOPIC_PREFIX, KAFKA_PARTITIONS: String(c.KAFKA_PARTITIONS), MASTER_KEYS: c.MASTER_KEYS.map((k) => `${k.id}:${k.key.toString('base64')}`).join(','),
    LOG_LEVEL: 'error', ...extra,
  });
}

async function listening(app: FastifyInstance): Promise<RunningEdge> {
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, app, close: () => app.close() };
}

/** A port producer that acknowledges every send at once, without Kafka. */
export function acknowledgingProducer(): KafkaProducer {
  return { connect: async () => undefined, disconnect: async () => undefined, isConnected: () => true, send: async () => [] };
}

async function startEdge(stack: IsolatedStack, kafkaWrite: boolean, lingerMs: number): Promise<RunningEdge> {
  const config = configWith(stack, { PRODUCER_LINGER_MS: String(lingerMs) });
  const metrics: Registry = createMetricsRegistry({ service: 'bench-edge', collectDefault: false });
  const app = await createEdge({
    config, logger: createLogger({ level: 'error', name: 'bench-edge' }), runtime: { ...stack, config }, metrics, fetchObject: noFetch,
    ...(kafkaWrite ? {} : { eventPublisher: createEventPublisher({ producer: acknowledgingProducer(), codec: stack.codec, topics: stack.topics, lingerMs: 0, metrics }) }),
  });
  return listening(app);
}

export const startKafkaEdge = (stack: IsolatedStack, lingerMs: number): Promise<RunningEdge> => startEdge(stack, true, lingerMs);
export const startNoKafkaEdge = (stack: IsolatedStack): Promise<RunningEdge> => startEdge(stack, false, 0);

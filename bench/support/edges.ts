/**
 * The two edges under load:
 *  - the real one, createEdge (src/processes/edge.ts): verify, map to
 *    Avro, publish through the batching publisher, answer after Kafka acknowledged;
 *  - the same route without Kafka: edge-server takes no publisher from outside, so
 *    this builds the same fastify app around the real webhook plugin
 *    (createWebhookPlugin, the real tenant cache and signature check) with a
 *    publisher that resolves at once — only the Kafka write (and the Avro encode the
 *    publisher does) is skipped.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createPool } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry } from '../../src/metrics/index.js';
import { createEdge } from '../../src/processes/edge.js';
import type { EventPublisher } from '../../src/producers/publisher.js';
import { replyWithError } from '../../src/producers/webhooks/http-errors.js';
import { createWebhookPlugin, type ObjectFetcher } from '../../src/producers/webhooks/route.js';
import { createTenantCache } from '../../src/producers/webhooks/tenant-cache.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import type { IsolatedStack } from './stack.js';

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

export async function startKafkaEdge(stack: IsolatedStack, lingerMs: number): Promise<RunningEdge> {
  const config = configWith(stack, { PRODUCER_LINGER_MS: String(lingerMs) });
  const app = await createEdge({
    config, logger: createLogger({ level: 'error', name: 'bench-edge' }), runtime: { ...stack, config },
    metrics: createMetricsRegistry({ service: 'bench-edge', collectDefault: false }), fetchObject: noFetch,
  });
  return listening(app);
}

export async function startNoKafkaEdge(stack: IsolatedStack): Promise<RunningEdge> {
  const config = configWith(stack, {});
  const logger = createLogger({ level: 'error', name: 'bench-edge-no-kafka' });
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: 4 });
  const tenants = createTenantRepository(pool, createSecretBox(config.MASTER_KEYS));
  const publisher: EventPublisher = { publish: async () => undefined, close: async () => undefined };
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true });
  app.setErrorHandler((err, request, reply) => replyWithError(reply, err, request.log));
  await app.register(createWebhookPlugin({
    tenants: createTenantCache({ load: (id) => tenants.getWithSecrets(id) }), publisher, fetchObject: noFetch,
    metrics: createMetricsRegistry({ service: 'bench-edge-no-kafka', collectDefault: false }), maxBodyBytes: config.WEBHOOK_MAX_BODY_BYTES, toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
    // The benchmark sends only valid deliveries; a dead letter here would be a bug in it.
    deadLetters: { write: async () => { throw new Error('bench sent an unprocessable webhook'); } },
  }));
  app.addHook('onClose', async () => pool.end());
  await app.ready();
  return listening(app);
}

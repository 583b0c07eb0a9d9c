/**
 * The edge process's HTTP app: Acme's webhooks in, Avro events on Kafka out.
 *
 * Each resource is a plugin that decorates the app and releases what it holds in
 * onClose, so `app.close()` is the whole shutdown: fastify first stops accepting and
 * lets in-flight requests finish (they still have Kafka), then the onClose hooks run in
 * reverse order — the publisher flushes what is queued, the producer disconnects, the
 * pool ends.
 *
 *   metricsRegistry  prom-client registry + GET /metrics
 *   pgPool           PostgreSQL pool                     (owned: ended on close)
 *   tenantRepository tenants with decrypted secrets
 *   tenantCache      5 s in-process cache over tenantRepository
 *   kafkaProducer    idempotent producer (acks=all)     (disconnected on close)
 *   eventPublisher   batching publisher over it          (flushed on close)
 *   GET /healthz     the process is alive
 *   GET /readyz      Kafka, schema registry and PostgreSQL answer
 *   POST /webhooks/acme/:tenant
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import { createAcmeClient, oauthClientOf, type AcmeClient } from '../acme/client.js';
import type { Config } from '../config/index.js';
import { createPool } from '../db/index.js';
import { createKafka, createProducer, kafkaOptionsFrom, type TopicNames } from '../kafka/index.js';
import { registerHealthRoutes } from '../http/health.js';
import type { Logger } from '../logger.js';
import { counter, createMetricsRegistry, histogram, type Registry } from '../metrics/index.js';
import type { AvroCodec } from '../registry/index.js';
import { createTenantRepository, type TenantRepository } from '../tenants/repository.js';
import { createSecretBox } from '../tenants/secret-box.js';
import { createEventPublisher, type EventPublisher, type PublisherOptions } from './publisher.js';
import { createDeadLetterWriter } from '../dlq/dead-letters.js';
import { replyWithError } from './webhooks/http-errors.js';
import { createWebhookPlugin, type ObjectFetcher } from './webhooks/route.js';
import { createTenantCache, type TenantCache } from './webhooks/tenant-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
    pgPool: pg.Pool;
    tenantRepository: TenantRepository;
    tenantCache: TenantCache;
    kafkaProducer: Producer;
    /** False until the producer connected, and again after it disconnected. */
    isKafkaProducerConnected: () => boolean;
    eventPublisher: EventPublisher;
  }
}

/**
 * Acme answers "any other answer (or none within 5 s) is retried" (the contract's
 * webhook responses): a Kafka write not acknowledged by then is reported as 503
 * before Acme gives up on the request, so the outcome we count is the one Acme saw.
 */
export const WEBHOOK_ACK_TIMEOUT_MS = 4_000;
const STARTUP_CONNECT_WAIT_MS = 5_000;

export interface EdgeServerOptions {
  config: Config;
  logger: Logger;
  codec: AvroCodec;
  topics: TopicNames;
  /** Default: a client for config.KAFKA_BROKERS. */
  kafka?: Kafka;
  /** Default: a new pool for config.DATABASE_URL. Either way the edge ends it on close. */
  pool?: pg.Pool;
  metrics?: Registry;
  /** Epoch ms; drives received_at and the signature tolerance. */
  now?: () => number;
  /** How thin payloads are fetched. Default: an AcmeClient per tenant. */
  fetchObject?: ObjectFetcher;
  publisher?: Partial<Pick<PublisherOptions, 'ackTimeoutMs' | 'maxBatch' | 'onBatch'>>;
  tenantCacheTtlMs?: number;
  readinessTimeoutMs?: number;
}

/** Decorations must be visible to sibling plugins: what fastify-plugin does, without the dependency. */
function shared<T extends FastifyPluginAsync>(plugin: T): T {
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });
  return plugin;
}

const metricsPlugin = (registry: Registry) =>
  shared(async (app) => {
    app.decorate('metricsRegistry', registry);
    app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
    app.addHook('onClose', async () => registry.clear());
  });

const databasePlugin = (options: EdgeServerOptions) =>
  shared(async (app) => {
    const { config, logger } = options;
    const pool = options.pool ?? createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.DATABASE_POOL_MAX, logger });
    const tenants = createTenantRepository(pool, createSecretBox(config.MASTER_KEYS));
    app.decorate('pgPool', pool);
    app.decorate('tenantRepository', tenants);
    app.decorate('tenantCache', createTenantCache({ load: (id) => tenants.getWithSecrets(id), ttlMs: options.tenantCacheTtlMs ?? 5_000, ...(options.now ? { now: options.now } : {}) }));
    app.addHook('onClose', async () => pool.end());
  });

/**
 * The producer connects at start-up; when Kafka is not there yet the edge still starts
 * (webhooks answer 503, /readyz says why) and keeps trying in the background.
 */
const kafkaPlugin = (options: EdgeServerOptions, kafka: Kafka) =>
  shared(async (app) => {
    const producer = createProducer(kafka);
    let connected = false;
    producer.on(producer.events.CONNECT, () => (connected = true));
    producer.on(producer.events.DISCONNECT, () => (connected = false));
    let closing = false;
    let timer: NodeJS.Timeout | undefined;
    const connect = async (delayMs: number): Promise<void> => {
      try {
        await producer.connect();
        if (closing) await producer.disconnect(); // connected after close() began
      } catch (err) {
        if (closing) return;
        options.logger.warn({ err, retryInMs: delayMs }, 'Kafka producer cannot connect yet');
        timer = setTimeout(() => void connect(Math.min(delayMs * 2, 10_000)), delayMs);
      }
    };
    // Wait a little for the first connection (the usual case: Kafka is up), never for long.
    let startupWait: NodeJS.Timeout | undefined;
    await Promise.race([connect(500), new Promise<void>((resolve) => (startupWait = setTimeout(resolve, STARTUP_CONNECT_WAIT_MS)))]);
    clearTimeout(startupWait);
    const batches = counter(app.metricsRegistry, { name: 'acme_sync_edge_kafka_batches_total', help: 'Kafka batches sent by the edge, by result', labelNames: ['result'] as const });
    const batchSize = histogram(app.metricsRegistry, { name: 'acme_sync_edge_kafka_batch_events', help: 'Events per Kafka batch sent by the edge', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500] });
    const publisher = createEventPublisher({
      producer,
      codec: options.codec,
      topics: options.topics,
      lingerMs: options.config.PRODUCER_LINGER_MS,
      metrics: app.metricsRegistry,
      ackTimeoutMs: options.publisher?.ackTimeoutMs ?? WEBHOOK_ACK_TIMEOUT_MS,
      ...(options.publisher?.maxBatch ? { maxBatch: options.publisher.maxBatch } : {}),
      headers: (event): Record<string, string> => (event.value.correlation_id ? { 'correlation-id': event.value.correlation_id } : {}),
      onBatch: (info) => {
        batches.inc({ result: info.ok ? 'ok' : 'failed' });
        batchSize.observe(info.events);
        options.publisher?.onBatch?.(info);
      },
    });
    app.decorate('kafkaProducer', producer);
    app.decorate('isKafkaProducerConnected', () => connected);
    app.decorate('eventPublisher', publisher);
    app.addHook('onClose', async () => {
      closing = true;
      clearTimeout(timer);
      await publisher.close();
      await producer.disconnect();
    });
  });

const healthPlugin = (options: EdgeServerOptions, kafka: Kafka) =>
  shared(async (app) => {
    const timeoutMs = options.readinessTimeoutMs ?? 2_000;
    const admin = kafka.admin();
    let adminConnected: Promise<void> | undefined;
    const checks: Record<string, () => Promise<unknown>> = {
      kafka: async () => {
        if (!app.isKafkaProducerConnected()) throw new Error('producer not connected');
        adminConnected ??= admin.connect().catch((err: unknown) => {
          adminConnected = undefined;
          throw err;
        });
        await adminConnected;
        return admin.describeCluster();
      },
      registry: async () => {
        const res = await fetch(`${options.config.SCHEMA_REGISTRY_URL}/config`, { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(`registry answered ${res.status}`);
      },
      postgres: () => app.pgPool.query('SELECT 1'),
    };
    registerHealthRoutes(app, checks, { timeoutMs });
    app.addHook('onClose', async () => {
      if (adminConnected) await admin.disconnect().catch(() => undefined);
    });
  });

/** Thin payloads: one AcmeClient per tenant (it caches credentials and refreshes OAuth tokens). */
function acmeFetcher(app: FastifyInstance, options: EdgeServerOptions): ObjectFetcher {
  const clients = new Map<string, AcmeClient>();
  return async (tenantId, type, id) => {
    let client = clients.get(tenantId);
    if (!client) {
      client = createAcmeClient({
        tenantId,
        tenants: app.tenantRepository,
        logger: options.logger,
        metrics: app.metricsRegistry,
        pool: app.pgPool,
        // Our OAuth client at Acme, to refresh OAuth tenants' tokens.
        ...oauthClientOf(options.config),
        // Acme waits 5 s for our answer: a few quick tries, then 503 and Acme's own retry.
        retry: { retries: 2, initialDelayMs: 100, maxDelayMs: 500, deadlineMs: 2_500 },
        requestTimeoutMs: 2_000,
        stages: { get: 'webhook' },
      });
      clients.set(tenantId, client);
    }
    return (await client.get(type, id)) as unknown as Readonly<Record<string, unknown>>;
  };
}

export async function createEdgeServer(options: EdgeServerOptions): Promise<FastifyInstance> {
  // Per-request lines would be one per webhook; outcomes are counted in metrics and refusals logged by replyWithError.
  const app = Fastify({ loggerInstance: options.logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true });
  app.setErrorHandler((err, request, reply) => replyWithError(reply, err, request.log));
  const kafka = options.kafka ?? createKafka(kafkaOptionsFrom(options.config, options.logger));
  await app.register(metricsPlugin(options.metrics ?? createMetricsRegistry({ service: 'acme-sync-edge' })));
  await app.register(databasePlugin(options));
  await app.register(kafkaPlugin(options, kafka));
  await app.register(healthPlugin(options, kafka));
  await app.register(
    createWebhookPlugin({
      tenants: app.tenantCache,
      publisher: app.eventPublisher,
      fetchObject: options.fetchObject ?? acmeFetcher(app, options),
      metrics: app.metricsRegistry,
      maxBodyBytes: options.config.WEBHOOK_MAX_BODY_BYTES,
      toleranceSeconds: options.config.WEBHOOK_TOLERANCE_SECONDS,
      ...(options.now ? { now: options.now } : {}),
      deadLetters: createDeadLetterWriter({ pool: app.pgPool, producer: app.kafkaProducer, topic: options.topics.dlq, recordedBy: 'edge', ...(options.now ? { now: options.now } : {}) }),
    }),
  );
  await app.ready();
  return app;
}

/**
 * The edge process's HTTP app: Acme's webhooks in, Avro events on Kafka out.
 *
 * Built from the process resources of src/processes/plugins.ts (each a fastify plugin
 * that releases what it holds in onClose), so `app.close()` is the whole shutdown:
 * fastify first stops accepting and lets in-flight requests finish (they still have
 * Kafka), then the onClose hooks run in reverse order — the publisher flushes what is
 * queued, the producer disconnects, the pool ends.
 *
 *   runtimePlugin    config, Kafka client, topics, codec, pool
 *   metricsPlugin    prom-client registry + GET /metrics
 *   databasePlugin   the edge's PostgreSQL pool           (owned: ended on close)
 *                    tenants with decrypted secrets, cached for EDGE_TENANT_CACHE_TTL_MS
 *   producerPlugin   idempotent producer (acks=all)       (disconnected on close)
 *   publisherPlugin  batching publisher over it           (flushed on close)
 *   GET /healthz     the process is alive
 *   GET /readyz      Kafka, schema registry and PostgreSQL answer
 *   POST /webhooks/acme/:tenant
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { createAcmeClient, oauthClientOf, type AcmeClient } from '../acme/client.js';
import { acmeOutboundOf } from '../acme/outbound.js';
import type { Config } from '../config/index.js';
import { createPool } from '../db/index.js';
import { createKafkaClient, kafkaOptionsFrom, type KafkaClient, type TopicNames } from '../kafka/index.js';
import { registerHealthRoutes } from '../http/health.js';
import type { Logger } from '../logger.js';
import { counter, createMetricsRegistry, histogram, type Registry } from '../metrics/index.js';
import { metricsPlugin, producerPlugin, publisherPlugin, runtimePlugin } from '../processes/plugins.js';
import type { AvroCodec } from '../registry/index.js';
import { createTenantRepository, type TenantRepository } from '../tenants/repository.js';
import { createSecretBox } from '../tenants/secret-box.js';
import type { EventPublisher, PublisherOptions } from './publisher.js';
import { createDeadLetterWriter } from '../dlq/dead-letters.js';
import { replyWithError } from './webhooks/http-errors.js';
import { createWebhookPlugin, type ObjectFetcher } from './webhooks/route.js';
import { createTenantCache, type TenantCache } from './webhooks/tenant-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    pgPool: pg.Pool;
    tenantRepository: TenantRepository;
    tenantCache: TenantCache;
  }
}

/** The edge starts without Kafka (webhooks answer 503, /readyz says why) after waiting this long for it. */
const STARTUP_CONNECT_WAIT_MS = 5_000;

export interface EdgeServerOptions {
  config: Config;
  logger: Logger;
  codec: AvroCodec;
  topics: TopicNames;
  /** Default: a client for config.KAFKA_BROKERS. */
  kafka?: KafkaClient;
  /** Default: a new pool for config.DATABASE_URL. Either way the edge ends it on close. */
  pool?: pg.Pool;
  metrics?: Registry;
  /** Epoch ms; drives received_at and the signature tolerance. */
  now?: () => number;
  /** How thin payloads are fetched. Default: an AcmeClient per tenant. */
  fetchObject?: ObjectFetcher;
  publisher?: Partial<Pick<PublisherOptions, 'ackTimeoutMs' | 'maxBatch' | 'onBatch'>>;
  /**
   * Replaces the batching publisher over the producer (closed with the app). Default: none.
   * For the benchmark's "Kafka write off" baseline: the same app with a publisher that
   * acknowledges without Kafka, so the comparison differs in the Kafka write only (issue 14).
   */
  eventPublisher?: EventPublisher;
  /** Default: config.EDGE_TENANT_CACHE_TTL_MS. */
  tenantCacheTtlMs?: number;
  readinessTimeoutMs?: number;
}

const databasePlugin = (options: EdgeServerOptions) =>
  fp(async (app) => {
    const { config, logger } = options;
    const pool = options.pool ?? createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.DATABASE_POOL_MAX, logger });
    const tenants = createTenantRepository(pool, createSecretBox(config.MASTER_KEYS));
    app.decorate('pgPool', pool);
    app.decorate('tenantRepository', tenants);
    app.decorate('tenantCache', createTenantCache({ load: (id) => tenants.getWithSecrets(id), ttlMs: options.tenantCacheTtlMs ?? config.EDGE_TENANT_CACHE_TTL_MS, ...(options.now ? { now: options.now } : {}) }));
    app.addHook('onClose', async () => pool.end());
  });

/**
 * Acme answers "any other answer (or none within 5 s) is retried" (the contract's
 * webhook responses): a Kafka write not acknowledged within WEBHOOK_ACK_TIMEOUT_MS is
 * reported as 503 before Acme gives up on the request, so the outcome we count is the one Acme saw.
 */
function edgePublisherOptions(app: FastifyInstance, options: EdgeServerOptions) {
  const batches = counter(app.metricsRegistry, { name: 'acme_sync_edge_kafka_batches_total', help: 'Kafka batches sent by the edge, by result', labelNames: ['result'] as const });
  const batchSize = histogram(app.metricsRegistry, { name: 'acme_sync_edge_kafka_batch_events', help: 'Events per Kafka batch sent by the edge', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500] });
  return {
    lingerMs: options.config.PRODUCER_LINGER_MS,
    metrics: app.metricsRegistry,
    ackTimeoutMs: options.publisher?.ackTimeoutMs ?? options.config.WEBHOOK_ACK_TIMEOUT_MS,
    ...(options.publisher?.maxBatch ? { maxBatch: options.publisher.maxBatch } : {}),
    headers: (event: { value: { correlation_id?: string | null } }): Record<string, string> => (event.value.correlation_id ? { 'correlation-id': event.value.correlation_id } : {}),
    onBatch: (info: { events: number; durationMs: number; ok: boolean }) => {
      batches.inc({ result: info.ok ? 'ok' : 'failed' });
      batchSize.observe(info.events);
      options.publisher?.onBatch?.(info);
    },
  };
}

const injectedPublisher = (publisher: EventPublisher) =>
  fp(async (app) => {
    app.decorate('eventPublisher', publisher);
    app.addHook('onClose', async () => publisher.close());
  });

const healthPlugin = (options: EdgeServerOptions, kafka: KafkaClient) =>
  fp(async (app) => {
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

/**
 * Thin payloads: one AcmeClient per tenant (it refreshes OAuth tokens, and re-reads the
 * credentials whenever the tenant's version changed, so a new key or base URL is used by
 * the next fetch), through the outbound client the configuration allows (outbound.ts).
 */
function acmeFetcher(app: FastifyInstance, options: EdgeServerOptions): ObjectFetcher {
  const clients = new Map<string, AcmeClient>();
  const outbound = acmeOutboundOf(options.config, options.logger);
  app.addHook('onClose', async () => outbound.close());
  return async (tenantId, type, id) => {
    let client = clients.get(tenantId);
    if (!client) {
      client = createAcmeClient({
        tenantId,
        tenants: app.tenantRepository,
        outbound,
        logger: options.logger,
        metrics: app.metricsRegistry,
        pool: app.pgPool,
        // Our OAuth client at Acme, to refresh OAuth tenants' tokens.
        ...oauthClientOf(options.config),
        // Acme waits 5 s for our answer: a few quick tries, then 503 and Acme's own retry.
        retry: { retries: options.config.WEBHOOK_FETCH_RETRIES, initialDelayMs: 100, maxDelayMs: 500, deadlineMs: options.config.WEBHOOK_FETCH_DEADLINE_MS },
        requestTimeoutMs: options.config.WEBHOOK_FETCH_TIMEOUT_MS,
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
  const kafka = options.kafka ?? createKafkaClient(kafkaOptionsFrom(options.config, options.logger));
  await app.register(databasePlugin(options));
  const { config, codec, topics } = options;
  await app.register(runtimePlugin, { options: { ...options, runtime: { config, codec, topics, kafka, pool: app.pgPool } } });
  await app.register(metricsPlugin, { registry: options.metrics ?? createMetricsRegistry({ service: 'acme-sync-edge' }) });
  await app.register(producerPlugin, { logger: options.logger, startupWaitMs: STARTUP_CONNECT_WAIT_MS });
  if (options.eventPublisher) await app.register(injectedPublisher(options.eventPublisher));
  else await app.register(publisherPlugin, edgePublisherOptions(app, options));
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

/**
 * `createAdmin`: the admin process — the admin API and settings page
 * (src/admin/app.ts), the publisher the poller and backfills write to, and the
 * poller, whose schedule starts once the app listens (unless `poller: false`).
 * Closing stops the poller and waits for backfills, then flushes the publisher,
 * disconnects the producer and ends the pool (the plugins' reverse order).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { acmeClientsFor, oauthClientOf, type AcmeClient } from '../acme/client.js';
import { acmeOutboundOf, type AcmeOutbound } from '../acme/outbound.js';
import { createRateBudget } from '../acme/rate-budget.js';
import { createAdminFastify, installAdmin, type AdminDeps } from '../admin/app.js';
import type { Config } from '../config/index.js';
import { createDeadLetterWriter } from '../dlq/dead-letters.js';
import { createPool } from '../db/index.js';
import { createMetricsRegistry } from '../metrics/index.js';
import { createBackfillRunner, type BackfillRunner } from '../producers/poller/backfill.js';
import { createPoller, type Poller } from '../producers/poller/poller.js';
import { createLanePublisher } from '../producers/lane-publisher.js';
import type { EventPublisher } from '../producers/publisher.js';
import { inputTopics } from '../kafka/lanes.js';
import { createSecretBox } from '../tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../tenants/repository.js';
import { buildProcess, metricsPlugin, producerPlugin, publisherPlugin, runtimePlugin, type ProcessOptions } from './plugins.js';

export interface AdminOptions extends ProcessOptions {
  /** Run the poller's schedule in this process (default true). */
  poller?: boolean;
  /** Acme clients per tenant (default: from the settings). */
  clientFor?: (tenantId: string) => AcmeClient;
  /** Overrides of the admin API's options (tests). */
  admin?: Partial<Omit<AdminDeps, 'pool' | 'tenants'>>;
}

declare module 'fastify' {
  interface FastifyInstance {
    tenants: TenantRepository;
    /** Acme client per tenant, shared by the poller, backfills and the admin API. */
    acmeClientFor: (tenantId: string) => AcmeClient;
    /** The one outbound client every call to Acme goes through (src/acme/outbound.ts). */
    acmeOutbound: AcmeOutbound;
    poller: Poller;
    backfills: BackfillRunner;
    /** What the poller and backfills publish with: each event on its lane (live or history). */
    pollPublisher: EventPublisher;
  }
}

/** Our OAuth client at Acme, when configured. */
export function oauthOf(config: Config): AdminDeps['oauth'] {
  return config.ACME_OAUTH_CLIENT_ID && config.ACME_OAUTH_CLIENT_SECRET
    ? { clientId: config.ACME_OAUTH_CLIENT_ID, clientSecret: config.ACME_OAUTH_CLIENT_SECRET, redirectUri: config.ACME_OAUTH_REDIRECT_URI }
    : undefined;
}

const pollingPlugin = fp<{ options: AdminOptions }>(async (app, { options }) => {
  const { config, logger } = options;
  const { pool } = app.runtime;
  const tenants = createTenantRepository(pool, createSecretBox(config.MASTER_KEYS));
  const outbound = acmeOutboundOf(config, logger);
  app.addHook('onClose', async () => outbound.close());
  // Live calls (polls) and history (backfills, reconciliation) share each tenant's Acme rate limit (issue 17).
  const rateBudget = createRateBudget({ liveReserveFraction: config.ACME_LIVE_RESERVE_FRACTION, metrics: app.metricsRegistry });
  const clientFor = options.clientFor ?? acmeClientsFor({
    tenants, pool, metrics: app.metricsRegistry, logger, outbound, onAnswer: rateBudget.observe,
    retry: { retries: config.ACME_RETRIES, deadlineMs: config.ACME_RETRY_DEADLINE_MS }, ...oauthClientOf(config),
  });
  // Backfill and reconciliation records on the history lane, polls on the live one (issue 17, src/kafka/lanes.ts).
  const publisher = createLanePublisher({
    producer: app.kafkaProducer, codec: app.runtime.codec, topics: app.runtime.topics, lingerMs: config.PRODUCER_LINGER_MS, metrics: app.metricsRegistry, live: app.eventPublisher,
  });
  // One connection per pass or backfill that may hold a tenant's history lock at once (issue 17).
  const lockPool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.POLL_CONCURRENCY + config.BACKFILL_CONCURRENCY + 1, logger });
  const backfills = createBackfillRunner({ pool, lockPool, rateBudget, tenants, publisher, clientFor, logger, concurrency: config.BACKFILL_CONCURRENCY, metrics: app.metricsRegistry });
  // Polled records that break the validation contract go to the DLQ once (src/dlq/dead-letters.ts).
  const deadLetters = createDeadLetterWriter({ pool, producer: app.kafkaProducer, topic: app.runtime.topics.dlq, recordedBy: 'poller' });
  const poller = createPoller({ pool, lockPool, rateBudget, tenants, publisher, clientFor, logger, metrics: app.metricsRegistry, concurrency: config.POLL_CONCURRENCY, deadLetters });
  app.decorate('tenants', tenants);
  app.decorate('acmeClientFor', clientFor);
  app.decorate('acmeOutbound', outbound);
  app.decorate('poller', poller);
  app.decorate('backfills', backfills);
  app.decorate('pollPublisher', publisher);
  if (options.poller !== false) {
    app.addHook('onListen', async () => {
      // Queued backfills a previous process left run here (the poller leaves their tenants alone until they did).
      await backfills.resume();
      poller.start();
    });
  }
  app.addHook('onClose', async () => {
    await poller.stop();
    await backfills.close();
    await publisher.close();
    await lockPool.end();
  });
}, { name: 'acme-sync-polling', dependencies: ['acme-sync-publisher'] });

/** Runtime, metrics, producer, publisher, poller and backfills: what reads Acme into Kafka. */
async function registerPolling(app: FastifyInstance, options: AdminOptions): Promise<void> {
  await app.register(runtimePlugin, { options });
  await app.register(metricsPlugin, { registry: options.metrics ?? createMetricsRegistry({ service: 'acme-sync-admin' }) });
  await app.register(producerPlugin, { logger: options.logger, startupWaitMs: Infinity });
  await app.register(publisherPlugin, { lingerMs: options.config.PRODUCER_LINGER_MS, metrics: app.metricsRegistry });
  await app.register(pollingPlugin, { options });
}

/** The poller and backfills without the admin API (`acme-sync backfill`); `poller` defaults to false here. */
export async function createPolling(options: AdminOptions): Promise<FastifyInstance> {
  const app = createAdminFastify(options.logger);
  return buildProcess(app, () => registerPolling(app, { poller: false, ...options }));
}

export async function createAdmin(options: AdminOptions): Promise<FastifyInstance> {
  const { config, logger } = options;
  const app = createAdminFastify(logger);
  return buildProcess(app, async () => {
    await registerPolling(app, options);
    const { runtime } = app;
    installAdmin(app, {
      pool: runtime.pool, tenants: app.tenants, publicBaseUrl: config.PUBLIC_BASE_URL, oauth: oauthOf(config),
      clientFor: app.acmeClientFor,
      backfills: app.backfills, bootstrapToken: config.ADMIN_BOOTSTRAP_TOKEN || undefined, rateLimitPerMinute: config.ADMIN_RATE_LIMIT_PER_MINUTE,
      metrics: app.metricsRegistry, logger,
      acmeOutbound: app.acmeOutbound, acmeTimeoutMs: config.ACME_ADMIN_TIMEOUT_MS, addressRateLimitPerMinute: config.ADMIN_ADDRESS_RATE_LIMIT_PER_MINUTE,
      readiness: { kafka: async () => { if (!app.isKafkaProducerConnected()) throw new Error('producer not connected'); } },
      dlq: {
        kafka: runtime.kafka, codec: runtime.codec, producer: app.kafkaProducer, topic: runtime.topics.dlq,
        allowedTopics: [...inputTopics(runtime.topics), runtime.topics.calendar_changes],
      },
      ...options.admin,
    });
  });
}

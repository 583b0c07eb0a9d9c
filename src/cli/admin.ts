import type { Command } from 'commander';
import { acmeClientsFor, oauthClientOf } from '../acme/client.js';
import { acmeOutboundOf } from '../acme/outbound.js';
import { createAdminApp } from '../admin/app.js';
import { bootstrap } from '../bootstrap.js';
import { loadConfig } from '../config/index.js';
import { createProducer } from '../kafka/index.js';
import { createLogger } from '../logger.js';
import { createMetricsRegistry } from '../metrics/index.js';
import { createBackfillRunner } from '../producers/poller/backfill.js';
import { createPoller } from '../producers/poller/poller.js';
import { createEventPublisher } from '../producers/publisher.js';
import { createSecretBox } from '../tenants/secret-box.js';
import { createTenantRepository } from '../tenants/repository.js';

/**
 * `acme-sync admin`: the admin API on HTTP_HOST:ADMIN_PORT (tenants, tokens, OAuth
 * connect with /oauth/callback, activation, backfills, status, the tenant's DLQ, and the
 * customers' settings page at /settings) and, unless --no-poller, the
 * poller that keeps every active tenant in sync on its schedule. /metrics serves the
 * Acme client's and the poller's metrics. SIGTERM / SIGINT stop the poller, let
 * backfills end, flush Kafka and exit.
 */
export function registerAdmin(program: Command): void {
  program
    .command('admin')
    .description('serve the admin API (and run the poller and backfills)')
    .option('--no-poller', 'do not poll tenants from this process')
    .action(async (opts: { poller: boolean }) => {
      const config = loadConfig();
      const logger = createLogger({ level: config.LOG_LEVEL, name: 'acme-sync-admin' });
      const runtime = await bootstrap(config, logger);
      const metrics = createMetricsRegistry({ service: 'acme-sync-admin' });
      const tenants = createTenantRepository(runtime.pool, createSecretBox(config.MASTER_KEYS));
      const producer = createProducer(runtime.kafka);
      let producerConnected = false;
      producer.on(producer.events.CONNECT, () => (producerConnected = true));
      producer.on(producer.events.DISCONNECT, () => (producerConnected = false));
      await producer.connect();
      const publisher = createEventPublisher({ producer, codec: runtime.codec, topics: runtime.topics, lingerMs: config.PRODUCER_LINGER_MS, metrics });
      const oauth = config.ACME_OAUTH_CLIENT_ID && config.ACME_OAUTH_CLIENT_SECRET
        ? { clientId: config.ACME_OAUTH_CLIENT_ID, clientSecret: config.ACME_OAUTH_CLIENT_SECRET, redirectUri: config.ACME_OAUTH_REDIRECT_URI }
        : undefined;
      const acmeOutbound = acmeOutboundOf(config, logger);
      const clientFor = acmeClientsFor({ tenants, pool: runtime.pool, metrics, logger, outbound: acmeOutbound, ...oauthClientOf(config) });
      const backfills = createBackfillRunner({ pool: runtime.pool, tenants, publisher, clientFor, logger });
      const poller = createPoller({ pool: runtime.pool, tenants, publisher, clientFor, logger, metrics, concurrency: config.POLL_CONCURRENCY });

      const app = createAdminApp({
        pool: runtime.pool, tenants, publicBaseUrl: config.PUBLIC_BASE_URL, oauth, clientFor, backfills,
        bootstrapToken: config.ADMIN_BOOTSTRAP_TOKEN || undefined, rateLimitPerMinute: config.ADMIN_RATE_LIMIT_PER_MINUTE, metrics, logger,
        acmeOutbound, acmeTimeoutMs: config.ACME_ADMIN_TIMEOUT_MS, addressRateLimitPerMinute: config.ADMIN_ADDRESS_RATE_LIMIT_PER_MINUTE,
        readiness: { kafka: () => producerConnected ? Promise.resolve() : Promise.reject(new Error('producer not connected')) },
        dlq: {
          kafka: runtime.kafka, codec: runtime.codec, producer, topic: runtime.topics.dlq,
          allowedTopics: [runtime.topics.appointments, runtime.topics.contacts, runtime.topics.activities, runtime.topics.calendar_changes],
        },
      });
      app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
      app.addHook('onClose', async () => {
        await poller.stop();
        await backfills.close();
        await publisher.close();
        await producer.disconnect();
        await runtime.close();
        await acmeOutbound.close();
      });
      const address = await app.listen({ host: config.HTTP_HOST, port: config.ADMIN_PORT });
      logger.info({ address, poller: opts.poller, oauth: Boolean(oauth) }, 'admin API listening');
      if (opts.poller) poller.start();

      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) process.exit(1);
        stopping = true;
        logger.info({ signal }, 'shutting down');
        app.close().then(() => process.exit(0), (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        });
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}

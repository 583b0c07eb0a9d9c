import type { Command } from 'commander';
import { acmeClientsFor, oauthClientOf } from '../acme/client.js';
import { acmeOutboundOf } from '../acme/outbound.js';
import { bootstrap } from '../bootstrap.js';
import { loadConfig } from '../config/index.js';
import { createCalendarFlow } from '../consumers/calendar/index.js';
import { createConsumerRunner, createTenantDirectory, type ConsumerRunner, type Flow } from '../consumers/runtime/index.js';
import { createConsumerServer } from '../consumers/server.js';
import { createTouchpointFlow } from '../consumers/touchpoints/index.js';
import { createWritebackFlow, createWritebackMetrics } from '../consumers/writeback/index.js';
import { createProducer } from '../kafka/index.js';
import { createLogger } from '../logger.js';
import { createMetricsRegistry } from '../metrics/index.js';
import { createSecretBox } from '../tenants/secret-box.js';
import { createTenantRepository } from '../tenants/repository.js';
import type pg from 'pg';

/** What a flow may need besides the pool: the write-back flow writes to Acme. */
interface FlowDeps {
  writer: ReturnType<typeof acmeClientsFor>;
  metrics: ReturnType<typeof createMetricsRegistry>;
}

const FLOWS: Readonly<Record<string, (pool: pg.Pool, deps: FlowDeps) => Flow<any>>> = {
  calendar: (pool) => createCalendarFlow({ pool }),
  touchpoints: () => createTouchpointFlow(),
  // Two-way calendar sync (issue 15): not in the default list; each tenant also switches it on.
  writeback: (pool, deps) => createWritebackFlow({ pool, acme: deps.writer, metrics: createWritebackMetrics(deps.metrics) }),
};

function parseFlows(value: string): string[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(n in FLOWS));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--flows: expected a comma list of ${Object.keys(FLOWS).join(', ')} (got ${JSON.stringify(value)})`);
  return [...new Set(names)];
}

/**
 * `acme-sync consumers`: one consumer group per flow (`<CONSUMER_GROUP_PREFIX>.<flow>`)
 * and the small server on HTTP_HOST:CONSUMER_PORT. SIGTERM / SIGINT finish the batch in
 * hand, then leave the groups; when a runner gives up the process exits non-zero
 * instead of idling "healthy".
 */
export function registerConsumers(program: Command): void {
  program
    .command('consumers')
    .description('run the transform consumers (calendar, touch-points; writeback for two-way calendar sync) with /metrics, /healthz, /readyz and the dashboard query')
    .option('--flows <list>', 'comma list of flows to run (calendar, touchpoints, writeback)', 'calendar,touchpoints')
    .action(async (opts: { flows: string }) => {
      const names = parseFlows(opts.flows);
      const config = loadConfig();
      const logger = createLogger({ level: config.LOG_LEVEL, name: 'acme-sync-consumers' });
      const runtime = await bootstrap(config, logger);
      const metrics = createMetricsRegistry({ service: 'acme-sync-consumers' });
      const repository = createTenantRepository(runtime.pool, createSecretBox(config.MASTER_KEYS));
      const acme = acmeClientsFor({ tenants: repository, logger, metrics, pool: runtime.pool, stages: { get: 'enrich' }, outbound: acmeOutboundOf(config, logger), ...oauthClientOf(config) });
      const writebackMetrics = createWritebackMetrics(metrics);
      // Writes get their own clients: errors at stage writeback, retries counted as write-back outcome `retried`.
      const writer = acmeClientsFor({
        tenants: repository, logger, metrics, pool: runtime.pool, stages: { get: 'writeback', other: 'writeback' }, outbound: acmeOutboundOf(config, logger), ...oauthClientOf(config),
        retry: { onRetry: () => writebackMetrics.writebacks.inc({ outcome: 'retried' }) },
      });
      const context = { now: Date.now, tenants: createTenantDirectory({ repository, acme }), acme, logger };
      const producer = createProducer(runtime.kafka);
      await producer.connect();
      const runners: ConsumerRunner[] = names.map((name) =>
        createConsumerRunner({
          kafka: runtime.kafka, pool: runtime.pool, codec: runtime.codec, topics: runtime.topics, flow: FLOWS[name]!(runtime.pool, { writer, metrics }),
          groupId: `${config.CONSUMER_GROUP_PREFIX}.${name}`, context, logger, metrics, producer,
        }),
      );
      const app = await createConsumerServer({ pool: runtime.pool, metrics, runners, dashboard: names.includes('touchpoints') });
      await app.listen({ host: config.HTTP_HOST, port: config.CONSUMER_PORT });

      let stopping = false;
      const shutdown = async (code: number): Promise<never> => {
        await Promise.allSettled(runners.map((r) => r.stop()));
        await producer.disconnect().catch(() => undefined);
        await app.close().catch(() => undefined);
        await runtime.close().catch(() => undefined);
        process.exit(code);
      };
      for (const runner of runners) {
        runner.done.catch((err: unknown) => {
          logger.fatal({ err, groupId: runner.groupId }, 'a consumer runner gave up: exiting');
          if (!stopping) {
            stopping = true;
            void shutdown(1);
          }
        });
      }
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down: finishing the batches in hand');
        void shutdown(0);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      await Promise.all(runners.map((r) => r.start()));
      logger.info({ flows: names, port: config.CONSUMER_PORT }, 'consumers running');
    });
}

/**
 * The consumer process's small HTTP server: /metrics, /healthz (alive), /readyz (every
 * runner joined its group, no partition stalled, and PostgreSQL answers) and the touch-point dashboard query
 * (helper C2's route plugin). `consumerRoutes` adds them to the process's app
 * (src/processes/consumers.ts); `createConsumerServer` is the same on a bare app.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { registerHealthRoutes } from '../http/health.js';
import type { Registry } from '../metrics/index.js';
import { registerRunnerMetrics } from '../metrics/runners.js';
import { createDashboardRoutes } from './dashboard-routes.js';
import type { ConsumerRunner } from './runtime/runner.js';

export interface ConsumerServerOptions {
  pool: pg.Pool;
  metrics: Registry;
  runners: readonly ConsumerRunner[];
  /** Serve the touch-point dashboard query (when the touch-point flow runs here). */
  dashboard?: boolean;
  /** Serve GET /metrics (false when the app has it already). */
  metricsRoute?: boolean;
}

export async function consumerRoutes(app: FastifyInstance, options: ConsumerServerOptions): Promise<void> {
  // acme_sync_consumer_runner_ready{group}: the alert on a consumer group without members.
  registerRunnerMetrics(options.metrics, options.runners);
  if (options.metricsRoute !== false) app.get('/metrics', async (_request, reply) => reply.type(options.metrics.contentType).send(await options.metrics.metrics()));
  const checks: Record<string, () => Promise<unknown>> = { postgres: () => options.pool.query('SELECT 1') };
  for (const runner of options.runners) {
    checks[runner.groupId] = async () => {
      if (!runner.isReady()) throw new Error('not joined to its consumer group');
      // A partition retrying past CONSUMER_STALL_AFTER_MS (issue 14): not ready, instead of retrying silently.
      const stalled = runner.stalledPartitions();
      if (stalled.length > 0) throw new Error(`stalled partitions: ${stalled.join(', ')}`);
    };
  }
  registerHealthRoutes(app, checks);
  if (options.dashboard !== false) await app.register(createDashboardRoutes({ db: options.pool }));
}

export async function createConsumerServer(options: ConsumerServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await consumerRoutes(app, options);
  return app;
}

/**
 * The consumer process's small HTTP server: /metrics, /healthz (alive), /readyz (every
 * runner joined its group and PostgreSQL answers) and the touch-point dashboard query
 * (helper C2's route plugin).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Registry } from '../metrics/index.js';
import { createDashboardRoutes } from './dashboard-routes.js';
import type { ConsumerRunner } from './runtime/runner.js';

export interface ConsumerServerOptions {
  pool: pg.Pool;
  metrics: Registry;
  runners: readonly ConsumerRunner[];
  /** Serve the touch-point dashboard query (when the touch-point flow runs here). */
  dashboard?: boolean;
}

export async function createConsumerServer(options: ConsumerServerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_request, reply) => reply.type(options.metrics.contentType).send(await options.metrics.metrics()));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const groups = Object.fromEntries(options.runners.map((r) => [r.groupId, r.isReady() ? 'joined' : 'not joined']));
    const database = await options.pool.query('SELECT 1').then(() => 'ok', (err: Error) => `unavailable: ${err.message}`);
    const ready = database === 'ok' && options.runners.every((r) => r.isReady());
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, groups });
  });
  if (options.dashboard !== false) await app.register(createDashboardRoutes({ db: options.pool }));
  return app;
}

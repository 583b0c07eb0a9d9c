/**
 * `createEdge`: the edge process (src/producers/edge-server.ts) on the process's
 * runtime. Bootstrapped here when no runtime is given, the runtime's pool becomes the
 * edge's own (ended on close); with a shared runtime (tests, drills, benchmarks) the
 * edge opens its own pool from the config, as a separate process would.
 */
import type { FastifyInstance } from 'fastify';
import { bootstrap } from '../bootstrap.js';
import { createEdgeServer, type EdgeServerOptions } from '../producers/edge-server.js';
import type { ProcessOptions } from './plugins.js';

export type EdgeOptions = ProcessOptions & Partial<Pick<EdgeServerOptions, 'now' | 'fetchObject' | 'publisher' | 'eventPublisher' | 'tenantCacheTtlMs' | 'readinessTimeoutMs'>>;

export async function createEdge(options: EdgeOptions): Promise<FastifyInstance> {
  const { runtime: shared, ...rest } = options;
  const runtime = shared ?? (await bootstrap(options.config, options.logger));
  return createEdgeServer({
    ...rest, codec: runtime.codec, topics: runtime.topics, kafka: runtime.kafka,
    ...(shared ? {} : { pool: runtime.pool }),
  });
}

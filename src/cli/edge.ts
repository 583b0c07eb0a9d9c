import type { Command } from 'commander';
import { bootstrap } from '../bootstrap.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';
import { createEdgeServer } from '../producers/edge-server.js';

/**
 * `acme-sync edge`: the webhook edge on HTTP_HOST:EDGE_PORT. SIGTERM / SIGINT close
 * it gracefully: stop accepting, let in-flight webhooks finish, flush the publisher so
 * every answered 2xx is in Kafka, then disconnect. A second signal exits at once.
 */
export function registerEdge(program: Command): void {
  program
    .command('edge')
    .description('serve POST /webhooks/acme/:tenant (signed Acme webhooks → Kafka), /metrics, /healthz, /readyz')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger({ level: config.LOG_LEVEL, name: 'acme-sync-edge' });
      const runtime = await bootstrap(config, logger);
      // The edge owns the runtime's pool from here on and ends it on close.
      const app = await createEdgeServer({ config, logger, codec: runtime.codec, topics: runtime.topics, kafka: runtime.kafka, pool: runtime.pool });
      const address = await app.listen({ host: config.HTTP_HOST, port: config.EDGE_PORT });
      logger.info({ address }, 'edge listening');

      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down: draining requests and flushing Kafka');
        app.close().then(
          () => {
            logger.info('edge stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}

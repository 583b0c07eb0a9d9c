import type { Command } from 'commander';
import { createEdge } from '../processes/edge.js';
import { processContext, serve } from '../processes/run.js';

/**
 * `acme-sync edge`: the webhook edge on HTTP_HOST:EDGE_PORT. SIGTERM / SIGINT close
 * it gracefully (src/processes/run.ts): stop accepting, let in-flight webhooks finish,
 * flush the publisher so every answered 2xx is in Kafka, then disconnect.
 */
export function registerEdge(program: Command): void {
  program
    .command('edge')
    .description('serve POST /webhooks/acme/:tenant (signed Acme webhooks → Kafka), /metrics, /healthz, /readyz')
    .action(async () => {
      const { config, logger } = processContext('acme-sync-edge');
      await serve(await createEdge({ config, logger }), { what: 'edge', config, logger, port: config.EDGE_PORT });
    });
}

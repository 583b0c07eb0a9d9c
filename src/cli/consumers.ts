import type { Command } from 'commander';
import { createConsumers, DEFAULT_FLOWS, FLOW_NAMES, type FlowName } from '../processes/consumers.js';
import { processContext, serve } from '../processes/run.js';

export function parseFlows(value: string): FlowName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(FLOW_NAMES as string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--flows: expected a comma list of ${FLOW_NAMES.join(', ')} (got ${JSON.stringify(value)})`);
  return [...new Set(names)] as FlowName[];
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
    .option('--flows <list>', `comma list of flows to run (${FLOW_NAMES.join(', ')})`, DEFAULT_FLOWS.join(','))
    .action(async (opts: { flows: string }) => {
      const flows = parseFlows(opts.flows);
      const { config, logger } = processContext('acme-sync-consumers');
      const app = await createConsumers({ config, logger, flows });
      await serve(app, { what: 'consumers', config, logger, port: config.CONSUMER_PORT, failed: app.consumersFailed });
      logger.info({ flows }, 'consumers running');
    });
}

import type { Command } from 'commander';
import { createAdmin } from '../processes/admin.js';
import { processContext, serve } from '../processes/run.js';

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
      const { config, logger } = processContext('acme-sync-admin');
      await serve(await createAdmin({ config, logger, poller: opts.poller }), { what: 'admin API', config, logger, port: config.ADMIN_PORT });
    });
}

import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { runBackfill, type BackfillProgress } from '../producers/poller/backfill.js';
import { createPolling } from '../processes/admin.js';
import { processContext } from '../processes/run.js';

function parseSince(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`--since: expected an ISO date such as 2025-01-31 or 2025-01-31T00:00:00Z (got ${JSON.stringify(value)})`);
  return new Date(ms).toISOString();
}

export function summary(p: BackfillProgress, seconds: number): string {
  const types = Object.entries(p.byType).map(([t, n]) => `${t}: ${n}`).join(', ');
  const rate = seconds > 0 ? Math.round(p.records / seconds) : p.records;
  return [
    `Backfill ${p.status} for tenant ${p.tenantId} since ${p.since ?? 'the beginning'} (run ${p.runId})`,
    `  ${p.records} records in ${p.pages} pages, ${seconds.toFixed(1)} s, ${rate} records/s`,
    `  by type: ${types || 'none'}`,
    ...(p.error ? [`  error: ${p.error}`] : []),
  ].join('\n');
}

/**
 * `acme-sync backfill --tenant <id> --since <date>`: read the tenant's Acme history since
 * the date into Kafka (source BACKFILL) with a progress bar, then print a summary. The
 * run is recorded in backfill_runs (GET /admin/tenants/:id/backfill shows it too).
 */
export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description("read a tenant's Acme records since a date into Kafka (source BACKFILL)")
    .requiredOption('--tenant <id>', 'tenant ID')
    .option('--since <date>', 'ISO date or instant; everything when omitted')
    .option('--page-size <n>', 'records per Acme page (1-200)', '100')
    .action(async (opts: { tenant: string; since?: string; pageSize: string }) => {
      const since = opts.since === undefined ? null : parseSince(opts.since);
      const { config, logger } = processContext('acme-sync-backfill', true);
      const app = await createPolling({ config, logger });
      const { tenants, pollPublisher: publisher, acmeClientFor: clientFor, runtime } = app;
      if (!(await tenants.get(opts.tenant))) {
        await app.close();
        throw new Error(`--tenant: unknown tenant ${opts.tenant}`);
      }
      const bar = new cliProgress.SingleBar(
        { format: 'backfill {tenant} | {type} | pages {pages} | records {value} | {rate} records/s | {duration_formatted}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      const started = performance.now();
      bar.start(Number.MAX_SAFE_INTEGER, 0, { tenant: opts.tenant, type: '-', pages: 0, rate: 0 });
      let result: BackfillProgress;
      try {
        result = await runBackfill(
          { pool: runtime.pool, tenants, publisher, clientFor, logger, pageSize: Number(opts.pageSize) },
          {
            tenantId: opts.tenant, since,
            onProgress: (p, page) => {
              const seconds = (performance.now() - started) / 1000;
              bar.update(p.records, { type: page.type, pages: p.pages, rate: seconds > 0 ? Math.round(p.records / seconds) : 0 });
            },
          },
        );
      } finally {
        bar.stop();
        await app.close();
      }
      console.log(summary(result, (performance.now() - started) / 1000));
      if (result.status !== 'succeeded') process.exitCode = 1;
    });
}

// `npm run sandbox -- [flags]`: starts the sandbox, provisions generated accounts, prints
// their credentials and keeps generating traffic until the budget is spent.

import { writeFile } from 'node:fs/promises';
import { parseCli } from './cli-options.js';
import type { GeneratedAccount } from './generator/generator.js';
import { createSandbox } from './sandbox.js';

function describeAccount(a: GeneratedAccount): string {
  return [
    `  ${a.account_id}  ${a.name}`,
    `    api key:        ${a.api_key}`,
    `    oauth client:   ${a.oauth_client.client_id}  secret ${a.oauth_client.client_secret}`,
    `    redirect uris:  ${a.oauth_client.redirect_uris.join(', ')}`,
    ...(a.webhook_subscription ? [`    webhook:        ${a.webhook_subscription.id} -> ${a.webhook_subscription.url}  secret ${a.webhook_subscription.secret}`] : []),
  ].join('\n');
}

async function main(): Promise<void> {
  const cfg = parseCli(process.argv.slice(2));
  const sandbox = createSandbox(cfg.sandbox);
  const url = await sandbox.listen({ port: cfg.port, host: cfg.host });
  const run = sandbox.startGenerator(cfg.generator);
  const rate = cfg.generator.rate ? `${cfg.generator.rate}/s` : 'as fast as possible';
  console.log(`Acme sandbox listening on ${url} (seed ${cfg.sandbox.seed})`);
  console.log(`Accounts (${run.accounts.length}):\n${run.accounts.map(describeAccount).join('\n')}`);
  console.log(`Generating ${cfg.generator.events} changes, ${rate}. Truth: GET ${url}/_sandbox/truth once finished. Control plane: ${url}/_sandbox/...`);

  void run.done.then(async (truth) => {
    console.log(`Generator ${run.status().state}: ${truth.stats.events} changes, ${truth.calendar_events.length} calendar events, ${truth.bad_records.length} bad records.`);
    if (cfg.truthFile) {
      await writeFile(cfg.truthFile, `${JSON.stringify(truth, null, 2)}\n`);
      console.log(`Truth written to ${cfg.truthFile}`);
    }
  });

  const shutdown = (): void => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

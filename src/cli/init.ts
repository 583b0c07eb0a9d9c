import type { Command } from 'commander';
import { bootstrap } from '../bootstrap.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';

/** `acme-sync init`: migrations, topics and schemas, then exit (idempotent). */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('migrate the database, create topics and register schemas, then exit')
    .action(async () => {
      const config = loadConfig();
      const runtime = await bootstrap(config, createLogger({ level: config.LOG_LEVEL, name: 'acme-sync-init' }));
      await runtime.close();
    });
}

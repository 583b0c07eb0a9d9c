#!/usr/bin/env node
/**
 * `acme-sync`: the integration's processes and tools behind one command.
 *   acme-sync init    migrate the database, create topics, register schemas, exit
 */
import { Command } from 'commander';
import { loadConfig } from './config/index.js';
import { ConfigError } from './errors/index.js';
import { createLogger } from './logger.js';
import { bootstrap } from './bootstrap.js';

async function runInit(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'acme-sync-init' });
  const runtime = await bootstrap(config, logger);
  await runtime.close();
}

export function createCli(): Command {
  const program = new Command('acme-sync').description('Acme CRM integration: calendar sync and touch-point counts');
  program.command('init').description('migrate the database, create topics and register schemas, then exit').action(runInit);
  return program;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  createCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      // A bad configuration is the operator's to fix: say exactly what, without a stack trace.
      if (err instanceof ConfigError) console.error(err.message);
      else console.error(err);
      process.exit(1);
    });
}

#!/usr/bin/env node
/**
 * `acme-sync`: the integration's processes and tools behind one command. Each
 * command lives in src/cli/<name>.ts and registers itself on the program.
 */
import { Command } from 'commander';
import { ConfigError } from './errors/index.js';
import { registerInit } from './cli/init.js';
import { registerDlq } from './cli/dlq.js';
import { registerEdge } from './cli/edge.js';
import { registerConsumers } from './cli/consumers.js';
import { registerAdmin } from './cli/admin.js';
import { registerBackfill } from './cli/backfill.js';
import { registerTenants } from './cli/tenants.js';

/** Every command of the CLI; add one line per command module. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerInit,
  registerDlq,
  registerEdge,
  registerConsumers,
  registerAdmin, registerBackfill, registerTenants,
];

export function createCli(): Command {
  const program = new Command('acme-sync').description('Acme CRM integration: calendar sync and touch-point counts');
  for (const register of COMMANDS) register(program);
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

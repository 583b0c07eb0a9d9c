/**
 * One drill in a child process of its own (`drills/index.ts --child <name>`), as
 * `npm run drills` and the `drills` test project both run it: a drill that crashes its
 * process is then a failed drill, not a crashed runner. The child prints its result as
 * one line after RESULT_PREFIX; every other line goes to the caller.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DrillResult, DrillSize } from './drill.js';
import type { StackEnv } from './stack.js';

export const RESULT_PREFIX = 'DRILL_RESULT ';
const ENTRY = fileURLToPath(new URL('../index.ts', import.meta.url));

export interface DrillChildOptions {
  size: DrillSize;
  env: Pick<StackEnv, 'KAFKA_BROKERS' | 'SCHEMA_REGISTRY_URL' | 'DATABASE_URL'>;
  onStdout(line: string): void;
  onStderr(line: string): void;
}

export interface DrillChildExit {
  /** Undefined when the process ended without printing a result. */
  result: DrillResult | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function runDrillChild(name: string, options: DrillChildOptions): Promise<DrillChildExit> {
  const { env } = options;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, '--child', name, ...(options.size === 'ci' ? ['--ci'] : [])], {
      env: { ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, DATABASE_URL: env.DATABASE_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let result: DrillResult | undefined;
    const lines = (chunk: Buffer, onLine: (line: string) => void) => chunk.toString('utf8').split('\n').filter(Boolean).forEach(onLine);
    child.stdout.on('data', (c: Buffer) => lines(c, (l) => (l.startsWith(RESULT_PREFIX) ? (result = JSON.parse(l.slice(RESULT_PREFIX.length)) as DrillResult) : options.onStdout(l))));
    child.stderr.on('data', (c: Buffer) => lines(c, options.onStderr));
    child.on('exit', (code, signal) => resolve({ result, code, signal }));
  });
}

/**
 * `acme-sync consumers --flows calendar` as a real child process on the calling test
 * file's isolated stack (the CLI, exactly as deployed), its stderr kept for failure
 * messages, and killed at the end of the file if a test left it running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';
import { TEST_MASTER_KEY } from '../../helpers/isolated-stack.js';
import type { Harness } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ConsumerProcesses {
  start(groupPrefix: string, extra?: Record<string, string>): ChildProcess;
  /** Everything the children wrote to stderr. */
  stderr(): string;
}

export function useConsumerProcesses(h: Harness): ConsumerProcesses {
  const children = new Set<ChildProcess>();
  let stderr = '';
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  return {
    start(groupPrefix, extra = {}) {
      const env = inject('stack');
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'consumers', '--flows', 'calendar'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, DATABASE_URL: env.DATABASE_URL,
          KAFKA_TOPIC_PREFIX: `${h.stack.id}.`, KAFKA_PARTITIONS: '3', DATABASE_SCHEMA: h.stack.id, MASTER_KEYS: TEST_MASTER_KEY,
          CONSUMER_GROUP_PREFIX: groupPrefix, CONSUMER_PORT: '0', LOG_LEVEL: 'error',
          ACME_ALLOWED_BASE_URLS: 'http://127.0.0.1:*', ACME_ALLOW_PRIVATE_NETWORK: 'true', ...extra,
        },
      });
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    stderr: () => stderr,
  };
}

/** The child's exit code (null when a signal ended it). */
export const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

/**
 * The real local stack for a benchmark: the addresses from the environment or from
 * `npm run stack -- up` (started when it is not running), and an isolated topic
 * prefix + PostgreSQL schema per benchmark through the tests' own helper
 * (test/helpers/isolated-stack.ts), with 6 partitions per topic.
 */
import { createIsolatedStack, type IsolatedStack } from '../../test/helpers/isolated-stack.js';
import type { StackEnv } from '../../test/helpers/stack-env.js';

export type { IsolatedStack, StackEnv };

export const BENCH_PARTITIONS = 6;

export async function stackEnv(log: (msg: string) => void): Promise<StackEnv> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL) return { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, source: 'env' };
  const { stackUp } = await import('../../scripts/stack/index.js');
  const env = await stackUp((msg) => log(`[stack] ${msg}`));
  return { KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL!, DATABASE_URL: env.DATABASE_URL!, source: 'local-stack' };
}

export async function createBenchStack(env: StackEnv, extra: Record<string, string> = {}): Promise<IsolatedStack> {
  return createIsolatedStack(env, { KAFKA_PARTITIONS: String(BENCH_PARTITIONS), DATABASE_POOL_MAX: '10', ...extra });
}

/** What a child process (`acme-sync consumers`, the load generator) needs to reach the same isolated stack. */
export function childEnv(stack: IsolatedStack, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const c = stack.config;
  return {
    ...process.env,
    KAFKA_BROKERS: c.KAFKA_BROKERS.join(','),
    SCHEMA_REGISTRY_URL: c.SCHEMA_REGISTRY_URL,
    DATABASE_URL: c.DATABASE_URL,
    DATABASE_SCHEMA: c.DATABASE_SCHEMA,
    DATABASE_POOL_MAX: String(c.DATABASE_POOL_MAX),
    KAFKA_TOPIC_PREFIX: c.KAFKA_TOPIC_PREFIX,
    KAFKA_PARTITIONS: String(c.KAFKA_PARTITIONS),
    MASTER_KEYS: c.MASTER_KEYS.map((k) => `${k.id}:${k.key.toString('base64')}`).join(','),
    LOG_LEVEL: 'warn',
    CONSUMER_PORT: '0',
    CONSUMER_GROUP_PREFIX: `${stack.id}.group`,
    // The stack's Acme allow-list (the sandbox on loopback in drills and benchmarks).
    ACME_ALLOWED_BASE_URLS: c.ACME_ALLOWED_BASE_URLS.join(','),
    ACME_ALLOW_PRIVATE_NETWORK: String(c.ACME_ALLOW_PRIVATE_NETWORK),
    ...extra,
  };
}

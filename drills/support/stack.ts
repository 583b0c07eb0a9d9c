/**
 * The real stack for a drill: the shared broker, registry and PostgreSQL from the
 * environment (or `npm run stack -- env`), isolated per drill with its own random topic
 * prefix, registry subjects and PostgreSQL schema (the tests' helper), 6 partitions.
 * Nothing here stops or reconfigures the shared services.
 */
import { createIsolatedStack, type IsolatedStack } from '../../test/helpers/isolated-stack.js';
import type { StackEnv } from '../../test/helpers/stack-env.js';
import { childEnv, stackEnv } from '../../bench/support/stack.js';

export type { IsolatedStack, StackEnv };
export { childEnv, stackEnv };

export const DRILL_PARTITIONS = 6;

export async function createDrillStack(env: StackEnv, extra: Record<string, string> = {}): Promise<IsolatedStack> {
  return createIsolatedStack(env, { KAFKA_PARTITIONS: String(DRILL_PARTITIONS), DATABASE_POOL_MAX: '8', ...extra });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

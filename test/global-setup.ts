/**
 * Finds a real Kafka, schema registry and PostgreSQL for the integration tests, in
 * this order:
 *   1. explicit env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL all set;
 *   2. testcontainers, when a Docker engine answers;
 *   3. the local stack (scripts/stack), started here if it is not running, and
 *      stopped at the end only if this run started it.
 * The addresses reach the test files through vitest's provide/inject.
 */
import type { TestProject } from 'vitest/node';
import { existsSync } from 'node:fs';
import type { StackEnv } from './helpers/stack-env.js';

let teardown: (() => Promise<void>) | undefined;

function fromEnv(): StackEnv | undefined {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL) return { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, source: 'env' };
  return undefined;
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.TESTCONTAINERS_DISABLED === 'true') return false;
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function fromTestcontainers(): Promise<StackEnv> {
  const { startContainers } = await import('./helpers/containers.js');
  const started = await startContainers();
  teardown = started.stop;
  return started.env;
}

async function fromLocalStack(): Promise<StackEnv> {
  const { stackUp, stackDown, stackStatus } = await import('../scripts/stack/index.js');
  const wasRunning = (await stackStatus()).every((s) => s.healthy);
  const env = await stackUp((msg) => console.log(`[stack] ${msg}`));
  if (!wasRunning) teardown = () => stackDown({}, () => undefined);
  return { KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL!, DATABASE_URL: env.DATABASE_URL!, source: 'local-stack' };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = fromEnv() ?? ((await dockerAnswers()) ? await fromTestcontainers() : await fromLocalStack());
  console.log(`[integration] Kafka ${env.KAFKA_BROKERS}, registry ${env.SCHEMA_REGISTRY_URL}, PostgreSQL ${env.DATABASE_URL} (${env.source})`);
  project.provide('stack', env);
  return async () => {
    await teardown?.();
  };
}

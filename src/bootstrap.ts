/**
 * What every process does first, in one place: validate config, reach PostgreSQL
 * and run migrations, check the master keys, create missing topics, register the Avro
 * schemas. Each step is idempotent under concurrency, so any number of processes
 * (several replicas in a rollout, the demo's three) may start together: migrations
 * queue on an advisory lock (src/db), a topic created by another process counts as
 * created (src/kafka), a registry write that lost a race to an identical one counts as
 * done (src/registry); test/bootstrap/concurrent-start.int.test.ts starts three sets of
 * processes at once, round after round.
 *
 * A step that cannot succeed by waiting fails at once with the setting to fix: a
 * database that does not exist (DATABASE_URL), a master key that does not open its
 * canary or a tenant's secrets (MASTER_KEYS), a schema the registry refuses.
 */
import type pg from 'pg';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config/index.js';
import { createPool, migrate } from './db/index.js';
import { createKafkaClient, ensureTopics, kafkaOptionsFrom, type KafkaClient, type TopicNames } from './kafka/index.js';
import type { Logger } from './logger.js';
import { createAvroCodec, createRegistry, registerSchemas, type AvroCodec, type SchemaIds } from './registry/index.js';
import { retry } from './retry/index.js';
import { AcmeSyncError, ConfigError, ERROR_CODES, PermanentError, TransientError } from './errors/index.js';
import { checkMasterKeys } from './startup-checks.js';

export interface Runtime {
  config: Config;
  logger: Logger;
  pool: pg.Pool;
  kafka: KafkaClient;
  topics: TopicNames;
  registry: SchemaRegistry;
  schemaIds: SchemaIds;
  codec: AvroCodec;
  close(): Promise<void>;
}

/** Start-up waits for its dependencies for a while (they may be starting too), then fails loudly. */
const STARTUP_RETRY = { retries: Infinity, initialDelayMs: 250, maxDelayMs: 5_000, deadlineMs: 120_000 };

/**
 * One start-up step: retried while its failure is retriable (within STARTUP_RETRY), and
 * when it finally fails the error names the setting that points at the dependency, so
 * the operator knows where to look. A ConfigError already names its setting.
 */
export async function startupStep<T>(logger: Logger, what: { step: string; setting: string }, fn: () => Promise<T>): Promise<T> {
  try {
    return await retry(fn, {
      ...STARTUP_RETRY,
      onRetry: ({ attempt, delayMs, error }) => logger.warn({ err: error, attempt, delayMs }, `${what.step}: not ready yet, retrying`),
    });
  } catch (err) {
    throw namingSetting(err, what.setting);
  }
}

function namingSetting(err: unknown, setting: string): unknown {
  if (err instanceof ConfigError) return err;
  const message = `${setting}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof AcmeSyncError) {
    const options = { code: err.code, cause: err, context: { ...err.context, setting }, ...(err.stage === undefined ? {} : { stage: err.stage }) };
    return err.retriable ? new TransientError(message, options) : new PermanentError(message, options);
  }
  return new PermanentError(message, { code: ERROR_CODES.INTERNAL, cause: err, context: { setting } });
}

export async function bootstrap(config: Config, logger: Logger): Promise<Runtime> {
  const applied = await startupStep(logger, { step: 'PostgreSQL', setting: 'DATABASE_URL' },
    () => migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, logger }));
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.DATABASE_POOL_MAX, logger });
  try {
    await startupStep(logger, { step: 'PostgreSQL', setting: 'DATABASE_URL' }, () => checkMasterKeys(pool, config.MASTER_KEYS));

    const kafka = createKafkaClient(kafkaOptionsFrom(config, logger));
    const admin = kafka.admin();
    const topics = await startupStep(logger, { step: 'Kafka', setting: 'KAFKA_BROKERS' }, async () => {
      await admin.connect();
      try {
        return await ensureTopics(admin, { prefix: config.KAFKA_TOPIC_PREFIX, partitions: config.KAFKA_PARTITIONS, replicationFactor: config.KAFKA_REPLICATION_FACTOR });
      } finally {
        await admin.disconnect();
      }
    });

    const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
    const schemaIds = await startupStep(logger, { step: 'schema registry', setting: 'SCHEMA_REGISTRY_URL' },
      () => registerSchemas(registry, { url: config.SCHEMA_REGISTRY_URL, compatibility: config.SCHEMA_COMPATIBILITY, topics }));
    logger.info({ topics, schemaIds }, 'topics and schemas ready');
    return runtimeOf(config, logger, pool, kafka, topics, registry, schemaIds);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}

function runtimeOf(config: Config, logger: Logger, pool: pg.Pool, kafka: KafkaClient, topics: TopicNames, registry: SchemaRegistry, schemaIds: SchemaIds): Runtime {
  return {
    config, logger, pool, kafka, topics, registry, schemaIds,
    codec: createAvroCodec(registry, schemaIds),
    close: async () => {
      await pool.end();
    },
  };
}

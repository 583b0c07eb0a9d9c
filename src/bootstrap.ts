/**
 * What every process does first, in one place: validate config, reach PostgreSQL
 * and run migrations, create missing topics, register the Avro schemas. Each step
 * is idempotent, so any number of processes may start together.
 */
import type pg from 'pg';
import type { Kafka } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Config } from './config/index.js';
import { createPool, ensureDatabase, migrate } from './db/index.js';
import { createKafka, ensureTopics, kafkaOptionsFrom, type TopicNames } from './kafka/index.js';
import type { Logger } from './logger.js';
import { createAvroCodec, createRegistry, registerSchemas, type AvroCodec, type SchemaIds } from './registry/index.js';
import { retry } from './retry/index.js';

export interface Runtime {
  config: Config;
  logger: Logger;
  pool: pg.Pool;
  kafka: Kafka;
  topics: TopicNames;
  registry: SchemaRegistry;
  schemaIds: SchemaIds;
  codec: AvroCodec;
  close(): Promise<void>;
}

/** Start-up waits for its dependencies for a while (they may be starting too), then fails loudly. */
const STARTUP_RETRY = { retries: Infinity, initialDelayMs: 250, maxDelayMs: 5_000, deadlineMs: 120_000 };

export async function bootstrap(config: Config, logger: Logger): Promise<Runtime> {
  const onRetry = (step: string) => ({ attempt, delayMs, error }: { attempt: number; delayMs: number; error: unknown }) =>
    logger.warn({ err: error, attempt, delayMs }, `${step}: not ready yet, retrying`);

  const applied = await retry(async () => {
    await ensureDatabase(config.DATABASE_URL);
    return migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, logger });
  }, { ...STARTUP_RETRY, onRetry: onRetry('PostgreSQL') });
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.DATABASE_POOL_MAX, logger });

  const kafka = createKafka(kafkaOptionsFrom(config, logger));
  const admin = kafka.admin();
  const topics = await retry(async () => {
    await admin.connect();
    try {
      return await ensureTopics(admin, { prefix: config.KAFKA_TOPIC_PREFIX, partitions: config.KAFKA_PARTITIONS, replicationFactor: config.KAFKA_REPLICATION_FACTOR });
    } finally {
      await admin.disconnect();
    }
  }, { ...STARTUP_RETRY, onRetry: onRetry('Kafka') });

  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  const schemaIds = await retry(
    () => registerSchemas(registry, { url: config.SCHEMA_REGISTRY_URL, compatibility: config.SCHEMA_COMPATIBILITY, topics }),
    { ...STARTUP_RETRY, onRetry: onRetry('schema registry') },
  );
  logger.info({ topics, schemaIds }, 'topics and schemas ready');

  return {
    config, logger, pool, kafka, topics, registry, schemaIds,
    codec: createAvroCodec(registry, schemaIds),
    close: async () => {
      await pool.end();
    },
  };
}

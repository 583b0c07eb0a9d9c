/**
 * Per-test-file isolation on the shared real stack: random topic prefix (so topics
 * and registry subjects are the file's own), its own PostgreSQL schema with the
 * migrations applied, and clean-up of all of it at the end.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createPool, migrate } from '../../src/db/index.js';
import { createKafkaClient, ensureTopics, kafkaOptionsFrom, TOPIC_KINDS, type KafkaClient, type TopicNames } from '../../src/kafka/index.js';
import { createKafkajs, createKafkajsClient } from '../../src/kafka/kafkajs/index.js';
import { createAvroCodec, createRegistry, registerSchemas, type AvroCodec, type SchemaIds } from '../../src/registry/index.js';
import type { StackEnv } from './stack-env.js';

export interface IsolatedStack {
  id: string;
  config: Config;
  /** Our Kafka port (the kafkajs adapter, or the one KAFKA_CLIENT names): what the code under test is given. */
  kafka: KafkaClient;
  /** The same cluster through kafkajs itself, for inspecting Kafka from the outside. */
  kafkajs: Kafka;
  /** kafkajs admin (connected), for inspecting and cleaning up. */
  admin: Admin;
  topics: TopicNames;
  registry: SchemaRegistry;
  schemaIds: SchemaIds;
  codec: AvroCodec;
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * A kafkajs producer for feeding a test's inputs from the outside (tests that pick a
 * partition or send raw batches): idempotent, murmur2 like the port's producer. Code
 * under test is given `stack.kafka.producer()` instead.
 */
export function createInputProducer(stack: Pick<IsolatedStack, 'kafkajs'>): Producer {
  return stack.kafkajs.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
}

export const TEST_MASTER_KEY = `test:${Buffer.alloc(32, 7).toString('base64')}`;

export function randomId(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export function isolatedConfig(env: StackEnv, id: string, extra: Record<string, string> = {}): Config {
  return loadConfig({
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
    DATABASE_URL: env.DATABASE_URL,
    KAFKA_TOPIC_PREFIX: `${id}.`,
    KAFKA_PARTITIONS: '3',
    DATABASE_SCHEMA: id,
    DATABASE_POOL_MAX: '4',
    MASTER_KEYS: TEST_MASTER_KEY,
    LOG_LEVEL: 'silent',
    // Tests run Acme's sandbox on loopback at random ports: the development allowance.
    ACME_ALLOWED_BASE_URLS: 'http://127.0.0.1:*',
    ACME_ALLOW_PRIVATE_NETWORK: 'true',
    // The adapter behind the port under test (issue 14): `KAFKA_CLIENT=platformatic npx vitest run …`.
    ...(process.env.KAFKA_CLIENT ? { KAFKA_CLIENT: process.env.KAFKA_CLIENT } : {}),
    ...extra,
  });
}

export async function createIsolatedStack(env: StackEnv, extra: Record<string, string> = {}): Promise<IsolatedStack> {
  const id = randomId();
  const config = isolatedConfig(env, id, extra);
  await migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA });
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: config.DATABASE_POOL_MAX });
  const kafkajs = createKafkajs(kafkaOptionsFrom(config));
  const kafka = config.KAFKA_CLIENT === 'kafkajs' ? createKafkajsClient({ kafka: kafkajs }) : createKafkaClient(kafkaOptionsFrom(config));
  const admin = kafkajs.admin();
  await admin.connect();
  const portAdmin = kafka.admin();
  await portAdmin.connect();
  const topics = await ensureTopics(portAdmin, { prefix: config.KAFKA_TOPIC_PREFIX, partitions: config.KAFKA_PARTITIONS, replicationFactor: config.KAFKA_REPLICATION_FACTOR }).finally(() => portAdmin.disconnect());
  const registry = createRegistry(config.SCHEMA_REGISTRY_URL);
  const schemaIds = await registerSchemas(registry, { url: config.SCHEMA_REGISTRY_URL, compatibility: config.SCHEMA_COMPATIBILITY, topics });
  return {
    id,
    config,
    kafka,
    kafkajs,
    admin,
    topics,
    registry,
    schemaIds,
    codec: createAvroCodec(registry, schemaIds),
    pool,
    async close() {
      await admin.deleteTopics({ topics: TOPIC_KINDS.map((k) => topics[k]) }).catch(() => undefined);
      await admin.disconnect();
      await pool.query(`DROP SCHEMA IF EXISTS "${id}" CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

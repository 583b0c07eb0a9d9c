/**
 * Kafka plumbing shared by the edge and the consumers: the port (types.ts) and its
 * default adapter (kafkajs/), topic creation at start-up.
 *
 * Callers depend on the port only: `createKafkaClient` returns a `KafkaClient` whose
 * producer sends with acks=all and resolves when every record is acknowledged, whose
 * group consumer runs each batch with assignment and crash callbacks, and whose failures
 * are our TransientError/PermanentError (the adapter classifies them).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ERROR_CODES, TransientError, isRetriable } from '../errors/index.js';
import { retry } from '../retry/index.js';
import { createKafkajsClient } from './kafkajs/index.js';
import { createPlatformaticClient } from './platformatic/index.js';
import { TOPIC_KINDS, TOPIC_SPECS, topicConfig, topicNames, type TopicNames } from './topics.js';
import type { KafkaAdmin, KafkaClient, KafkaClientOptions, NewTopic } from './types.js';

export * from './topics.js';
export type * from './types.js';
export { chunkTopicRecords, MAX_REQUEST_BYTES } from './chunk.js';

/** The adapter behind the port (config KAFKA_CLIENT). */
export type KafkaClientName = Config['KAFKA_CLIENT'];

export function kafkaOptionsFrom(config: Config, logger?: Logger): KafkaClientOptions & { client: KafkaClientName } {
  return { brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, client: config.KAFKA_CLIENT, ...(logger ? { logger } : {}) };
}

/**
 * The Kafka client: the kafkajs adapter (src/kafka/kafkajs/) by default; the
 * @platformatic/kafka adapter (src/kafka/platformatic/) with `client: 'platformatic'`
 * (KAFKA_CLIENT) — measurement-only while that library is a devDependency (issue 14); it
 * loads the library on first use, so the default never needs it.
 */
export function createKafkaClient(options: KafkaClientOptions & { client?: KafkaClientName }): KafkaClient {
  const { client, ...rest } = options;
  return client === 'platformatic' ? createPlatformaticClient(rest) : createKafkajsClient(rest);
}

export interface EnsureTopicsOptions {
  prefix: string;
  partitions: number;
  replicationFactor: number;
}

/**
 * Create the missing topics; returns the full names. Safe when several processes start
 * together: a topic another process created between our listTopics and createTopics
 * comes back as TOPIC_ALREADY_EXISTS, which kafkajs' createTopics answers with `false`
 * when every error is that one (kafkajs src/admin/index.js); and every process waits for
 * all topics to have leaders, not only the ones it created, because a topic that another
 * process just created is listed before its partitions have leaders.
 */
export async function ensureTopics(admin: KafkaAdmin, options: EnsureTopicsOptions): Promise<TopicNames> {
  const names = topicNames(options.prefix);
  const existing = new Set(await admin.listTopics());
  const missing: NewTopic[] = TOPIC_KINDS.filter((kind) => !existing.has(names[kind])).map((kind) => ({
    topic: names[kind],
    partitions: options.partitions,
    replicationFactor: options.replicationFactor,
    config: Object.fromEntries(topicConfig(TOPIC_SPECS[kind]).map((e) => [e.name, e.value])),
  }));
  // createTopics does not wait for leaders: kafkajs' own wait retries only LEADER_NOT_AVAILABLE;
  // a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION until the new topic's metadata reaches it.
  if (missing.length > 0) await admin.createTopics(missing);
  await waitForLeaders(admin, TOPIC_KINDS.map((kind) => names[kind]));
  return names;
}

async function waitForLeaders(admin: KafkaAdmin, topics: string[]): Promise<void> {
  await retry(
    async () => {
      const metadata = await admin.topicMetadata(topics);
      const leaderless = metadata.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (leaderless.length > 0) throw new TransientError(`Topics without leaders yet: ${leaderless.map((t) => t.topic).join(', ')}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE });
      // A KRaft broker names a partition's leader in its metadata a moment before that leader
      // serves it: ListOffsets then answers NOT_LEADER_OR_FOLLOWER (seen in the publisher test
      // right after start-up). A topic is ready when its offsets can be read.
      // While leaders move (a multi-broker cluster electing), kafkajs' fetchTopicOffsets can
      // also fail inside itself on a partial ListOffsets answer (a TypeError from
      // admin/index.js `high.pop()`): here that means "not ready yet", bounded by the deadline.
      await Promise.all(topics.map((topic) => admin.topicOffsets(topic))).catch((err: unknown) => {
        if (isRetriable(err)) throw err;
        throw new TransientError(`Topic offsets not readable yet: ${(err as Error).message}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE, cause: err });
      });
    },
    { retries: Infinity, initialDelayMs: 50, maxDelayMs: 1_000, deadlineMs: 30_000, isRetriable: (err) => isRetriable(err) || (err as { context?: { kafkaType?: unknown } }).context?.kafkaType === 'UNKNOWN_TOPIC_OR_PARTITION' },
  );
}

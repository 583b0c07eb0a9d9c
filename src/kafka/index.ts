/**
 * Kafka plumbing shared by the edge and the consumers: one client factory, topic
 * creation at start-up, and the producer settings every writer uses.
 */
import { Kafka, Partitioners, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry, type Message, type Producer, type ProducerBatch, type ProducerRecord, type RecordMetadata } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { ERROR_CODES, TransientError, isRetriable } from '../errors/index.js';
import { retry } from '../retry/index.js';
import { TOPIC_KINDS, TOPIC_SPECS, topicConfig, topicNames, type TopicNames } from './topics.js';

export * from './topics.js';

export interface KafkaOptions {
  brokers: readonly string[];
  clientId: string;
  logger?: Logger;
}

export function kafkaOptionsFrom(config: Config, logger?: Logger): KafkaOptions {
  return { brokers: config.KAFKA_BROKERS, clientId: config.KAFKA_CLIENT_ID, ...(logger ? { logger } : {}) };
}

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** kafkajs logs through our pino logger so every line is structured JSON. */
function logCreator(logger: Logger) {
  return () =>
    ({ level, log }: LogEntry) => {
      const { message, ...rest } = log;
      logger[PINO_LEVEL[level] ?? 'info']({ kafkajs: rest }, message);
    };
}

export function createKafka(options: KafkaOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(options.logger ? { logCreator: logCreator(options.logger) } : {}),
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
    connectionTimeout: 3_000,
  });
}

/**
 * Every writer is idempotent with acks=all: a retried send never duplicates and an
 * acknowledged record survives a broker loss (KIP-98). kafkajs allows at most one
 * in-flight request with idempotence.
 *
 * The producer returned checks that every record of a send was acknowledged
 * (`verifyAcknowledged`): kafkajs 2.2.4 can resolve a send without writing some records
 * when a partition's leader moves during it (see `unacknowledgedPartitions`).
 */
export function createProducer(kafka: Kafka): Producer {
  const routed = new WeakMap<Message, number>();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // murmur2 over the key, as the Java client partitions: other languages' producers of
    // the same keys land on the same partitions (kafkajs v2's default, named to be explicit).
    // Wrapped to remember where each record was routed, for the acknowledgement check.
    createPartitioner: () => {
      const partition = Partitioners.DefaultPartitioner();
      return (args) => {
        const chosen = partition(args);
        routed.set(args.message, chosen);
        return chosen;
      };
    },
  });
  const sendBatch = async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
    const acks = await producer.sendBatch(batch);
    verifyAcknowledged(batch.topicMessages ?? [], acks, (message) => routed.get(message));
    return acks;
  };
  return {
    ...producer,
    sendBatch,
    send: ({ topic, messages, ...rest }: ProducerRecord) => sendBatch({ ...rest, topicMessages: [{ topic, messages }] }),
  };
}

/**
 * The partitions (`topic:partition`) that records were routed to and that no acknowledgement
 * covers. kafkajs' sendMessages keeps the answers of brokers that already replied across its
 * retries and sends only to brokers without one; when a leader change moves a failed
 * partition to a broker that had answered for other partitions, that partition's records are
 * never sent and the send still resolves (kafkajs src/producer/sendMessages.js,
 * `brokersWithoutResponse`; cluster.findLeaderForPartitions also drops partitions missing
 * from the metadata). Found by the broker-failures drill: a key's latest output missing from
 * its topic after a leader was killed, the row that produced it committed and its outbox row
 * deleted. A record routed nowhere (`undefined`) is unacknowledged too.
 */
export function unacknowledgedPartitions(
  topicMessages: readonly { topic: string; messages: readonly Message[] }[],
  acks: readonly Pick<RecordMetadata, 'topicName' | 'partition'>[],
  routedTo: (message: Message) => number | undefined,
): string[] {
  const acknowledged = new Set(acks.map((a) => `${a.topicName}:${a.partition}`));
  const missing = new Set<string>();
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const partition = routedTo(message);
      const key = `${topic}:${partition ?? '?'}`;
      if (partition === undefined || !acknowledged.has(key)) missing.add(key);
    }
  }
  return [...missing];
}

/** Throws a retriable KAFKA_UNAVAILABLE naming the partitions when a send left records unacknowledged. */
export function verifyAcknowledged(
  topicMessages: readonly { topic: string; messages: readonly Message[] }[],
  acks: readonly Pick<RecordMetadata, 'topicName' | 'partition'>[],
  routedTo: (message: Message) => number | undefined,
): void {
  const missing = unacknowledgedPartitions(topicMessages, acks, routedTo);
  if (missing.length > 0) {
    throw new TransientError(`Kafka acknowledged the send without ${missing.length} of its partitions (${missing.slice(0, 10).join(', ')}); sending again`, {
      code: ERROR_CODES.KAFKA_UNAVAILABLE,
      stage: 'produce',
      context: { unacknowledged: missing.join(',') },
    });
  }
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
export async function ensureTopics(admin: Admin, options: EnsureTopicsOptions): Promise<TopicNames> {
  const names = topicNames(options.prefix);
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = TOPIC_KINDS.filter((kind) => !existing.has(names[kind])).map((kind) => ({
    topic: names[kind],
    numPartitions: options.partitions,
    replicationFactor: options.replicationFactor,
    configEntries: topicConfig(TOPIC_SPECS[kind]),
  }));
  if (missing.length > 0) {
    // kafkajs' own waitForLeaders retries only LEADER_NOT_AVAILABLE; a KRaft broker
    // answers UNKNOWN_TOPIC_OR_PARTITION until the new topic's metadata reaches it.
    await admin.createTopics({ topics: missing, waitForLeaders: false });
  }
  await waitForLeaders(admin, TOPIC_KINDS.map((kind) => names[kind]));
  return names;
}

async function waitForLeaders(admin: Admin, topics: string[]): Promise<void> {
  await retry(
    async () => {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      const leaderless = metadata.filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0));
      if (leaderless.length > 0) throw new TransientError(`Topics without leaders yet: ${leaderless.map((t) => t.name).join(', ')}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE });
      // A KRaft broker names a partition's leader in its metadata a moment before that leader
      // serves it: ListOffsets then answers NOT_LEADER_OR_FOLLOWER (seen in the publisher test
      // right after start-up). A topic is ready when its offsets can be read.
      // While leaders move (a multi-broker cluster electing), kafkajs' fetchTopicOffsets can
      // also fail inside itself on a partial ListOffsets answer (a TypeError from
      // admin/index.js `high.pop()`): here that means "not ready yet", bounded by the deadline.
      await Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic))).catch((err: unknown) => {
        if (isRetriable(err)) throw err;
        throw new TransientError(`Topic offsets not readable yet: ${(err as Error).message}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE, cause: err });
      });
    },
    { retries: Infinity, initialDelayMs: 50, maxDelayMs: 1_000, deadlineMs: 30_000, isRetriable: (err) => isRetriable(err) || (err as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION' },
  );
}

/**
 * A broker refuses a record batch larger than `max.message.bytes` (1 MiB by default) with
 * MESSAGE_TOO_LARGE, and kafkajs sends one record batch per partition per request. Writers
 * that produce many records at once (a consumer's outputs for a large input batch) split
 * them into requests of at most `maxBytes`, in order, so no partition's batch can exceed it.
 * A single record larger than `maxBytes` travels alone.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;
/** Per-record overhead in a v2 record batch (varints, attributes, deltas), roughly. */
const RECORD_OVERHEAD_BYTES = 64;

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

function sizeOf(message: Message): number {
  const len = (v: unknown) => (v === null || v === undefined ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v)));
  let headers = 0;
  for (const [k, v] of Object.entries(message.headers ?? {})) headers += Buffer.byteLength(k) + len(v);
  return RECORD_OVERHEAD_BYTES + len(message.key) + len(message.value) + headers;
}

export function chunkTopicMessages(topicMessages: readonly TopicMessages[], maxBytes = MAX_REQUEST_BYTES): TopicMessages[][] {
  const chunks: TopicMessages[][] = [];
  let current: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const size = sizeOf(message);
      if (bytes > 0 && bytes + size > maxBytes) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      const last = current.at(-1);
      if (last?.topic === topic) last.messages.push(message);
      else current.push({ topic, messages: [message] });
      bytes += size;
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

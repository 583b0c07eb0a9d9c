/**
 * The Kafka port (issue 14): what the runner, the edge, the outbox relay and the DLQ tool
 * need from a Kafka client, in our own types. Adapters implement it: src/kafka/kafkajs/
 * (the default) and src/kafka/platformatic/. Nothing outside an adapter imports a Kafka
 * library's types.
 *
 * Errors: every promise of the port rejects with our own errors (src/errors): a
 * `TransientError` with code KAFKA_UNAVAILABLE when waiting and trying again can help
 * (a broker down, a leader moving, a timeout, retries used up on any of these), a
 * `PermanentError` otherwise (a record too large, an authorization failure, a bug). The
 * adapter classifies; callers only ask `isRetriable(err)` or look at `code`.
 */

import type { Logger } from 'pino';

// ---------------------------------------------------------------- options

/** What every adapter is created from (`createKafkaClient`, src/kafka/index.ts; `kafkaOptionsFrom(config)`). */
export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId: string;
  /** The adapter's own log lines go here (structured); silent without one. */
  logger?: Logger;
}

// ---------------------------------------------------------------- producing

/** A record to send. Keys are strings: the partitioner hashes their UTF-8 bytes (murmur2, as the Java client). */
export interface OutgoingRecord {
  key: string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  /** Epoch milliseconds as a decimal string; the broker's time when absent. */
  timestamp?: string;
}

/** The records of one send for one topic, in the order they are to be written (per key). */
export interface TopicRecords {
  topic: string;
  records: OutgoingRecord[];
}

/** One partition's acknowledgement: the offset of the first record of the send written there. */
export interface Acknowledgement {
  topic: string;
  partition: number;
  baseOffset: string;
}

export interface KafkaProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** True between a successful connect() and disconnect() (or the connection's loss, when the adapter knows it). */
  isConnected(): boolean;
  /**
   * Writes every record, always idempotent with acks=all (KIP-98), and resolves only when
   * every record is acknowledged: at least one acknowledgement per (topic, partition)
   * written to (one per request when the send was split), in no particular order. Per-key order holds within a send and across sends awaited in
   * turn. A large send may travel as several requests (in order); when one fails, the send
   * rejects and some of its records may have been written: sending again is safe for
   * consumers that are idempotent by version (ours are). Rejects with TransientError
   * KAFKA_UNAVAILABLE or PermanentError (stage `produce`).
   */
  send(topicRecords: readonly TopicRecords[]): Promise<Acknowledgement[]>;
}

// ---------------------------------------------------------------- consuming

/**
 * A record as read. Header values as the adapter got them (kafkajs: Buffer); a header key
 * that occurs more than once has its last value (the Java client's `Headers.lastHeader`).
 */
export interface IncomingRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
  offset: string;
  /** Epoch milliseconds as a decimal string. */
  timestamp: string;
}

/** The records of one partition fetched together. `records` is never empty. */
export interface RecordBatch {
  topic: string;
  partition: number;
  records: IncomingRecord[];
  /** Offset of records[0]. */
  firstOffset: string;
  /**
   * The last offset this fetch covered: at least the last record's, more when the fetch
   * skipped offsets that carry no record for us (control records, compacted gaps).
   */
  lastOffset: string;
  /** The partition's high watermark at the fetch (the next offset to be written). */
  highWatermark: string;
}

export interface BatchControl {
  /** Tells the group coordinator we are alive; rejects when the member lost its assignment (a rebalance). */
  heartbeat(): Promise<void>;
  /** True when this batch's partition was revoked or sought since it was fetched: finish nothing more. */
  isStale(): boolean;
  /** Stops fetching this partition; the returned function resumes it. */
  pause(): () => void;
  /**
   * Marks the partition consumed up to and including `offset`: the next fetch starts after
   * it. A batch left unresolved is fetched again (after a seek, from the sought offset).
   */
  resolveOffset(offset: string): void;
}

export interface RunOptions {
  /** Partitions processed at the same time (each partition's batches in turn). */
  concurrency: number;
  /**
   * Called with each non-empty batch. A rejection is a crash of the consumer (see
   * onCrash): callers handle their own failures and resolve.
   */
  eachBatch(batch: RecordBatch, control: BatchControl): Promise<void>;
}

/** Topic → partitions of this member after a (re)join. */
export type Assignment = Record<string, number[]>;

export interface GroupConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  maxBytesPerPartition?: number;
  /** fetch.max.wait.ms: a stop waits for the fetch in flight, which waits this long when there is nothing new. */
  maxWaitTimeMs?: number;
}

/**
 * A member of a consumer group. Offsets committed to Kafka are informational for us
 * (PostgreSQL holds the ones that count): no auto-commit, nothing resolved unless
 * `resolveOffset` is called. Topics are never auto-created.
 */
export interface GroupConsumer {
  connect(): Promise<void>;
  /** Topics to read; `fromBeginning` applies to a group with no committed offset. */
  subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void>;
  /** Starts the fetch loop; resolves once it runs. */
  run(options: RunOptions): Promise<void>;
  /** Moves the partition's next fetch to `offset` (takes effect after the batch in hand). */
  seek(topic: string, partition: number, offset: string): void;
  /** Commits `offset` as the next offset to read per partition (informational). */
  commitOffsets(offsets: readonly { topic: string; partition: number; offset: string }[]): Promise<void>;
  /** After every join of the group (a new generation), with this member's assignment. */
  onAssignment(listener: (assignment: Assignment) => void): void;
  /** The fetch loop failed; `willRestart` says whether the adapter restarts it itself. */
  onCrash(listener: (err: unknown, willRestart: boolean) => void): void;
  /** Waits for the batch in hand to finish, then leaves the group. */
  disconnect(): Promise<void>;
}

// ---------------------------------------------------------------- administration

export interface NewTopic {
  topic: string;
  partitions: number;
  replicationFactor: number;
  /** Topic-level configuration (`cleanup.policy`, `retention.ms`, ...). */
  config?: Record<string, string>;
}

export interface PartitionMetadata {
  partition: number;
  /** Broker ID of the leader; negative while there is none. */
  leader: number;
}

export interface TopicMetadata {
  topic: string;
  partitions: PartitionMetadata[];
}

/** A partition's offsets: `low` is its first offset, `high` the next offset to be written. */
export interface PartitionOffsets {
  partition: number;
  low: string;
  high: string;
}

export interface ClusterDescription {
  clusterId: string;
  controller: number | null;
  brokers: { nodeId: number; host: string; port: number }[];
}

export interface KafkaAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics; one that exists already is not an error. Does not wait for leaders. */
  createTopics(topics: readonly NewTopic[]): Promise<void>;
  topicMetadata(topics: readonly string[]): Promise<TopicMetadata[]>;
  topicOffsets(topic: string): Promise<PartitionOffsets[]>;
  describeCluster(): Promise<ClusterDescription>;
  deleteGroups(groupIds: readonly string[]): Promise<void>;
}

// ---------------------------------------------------------------- reading a topic (tools)

/** A record read by `readTopic`, with its partition. */
export interface TopicRecord extends IncomingRecord {
  partition: number;
}

export interface ReadTopicOptions {
  /**
   * Where reading stops, per partition: `'end'` = the high watermark as of the call
   * (records written afterwards are not read); `{ before }` = that offset (exclusive) or
   * the high watermark, whichever comes first.
   */
  until: 'end' | { before: string };
  /** Only these partitions (all by default). */
  partitions?: readonly number[];
  /** Start of each partition (default: the partition's first offset). */
  from?: (partition: number) => string | undefined;
  /** Called after each fetched batch with the records read so far and the total to read. */
  onProgress?: (read: number, total: number) => void;
  /** Give up after this long (default: no limit) with a TransientError. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------- root

export interface KafkaClient {
  /** A new idempotent producer (acks=all); the caller connects and disconnects it. */
  producer(): KafkaProducer;
  consumer(options: GroupConsumerOptions): GroupConsumer;
  /** A new admin client; the caller connects and disconnects it. */
  admin(): KafkaAdmin;
  /**
   * Reads a topic's partitions up to `until`, calling `onRecord` for every record in
   * offset order per partition (partitions interleaved), and resolves when every
   * partition reached its end. For tools (the DLQ), not for the pipeline: the kafkajs
   * adapter uses a throw-away consumer group, deleted afterwards.
   */
  readTopic(topic: string, options: ReadTopicOptions, onRecord: (record: TopicRecord) => void): Promise<void>;
}

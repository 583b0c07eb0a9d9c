/**
 * kafkajs settings: the client (brokers, retries, logs through pino), the producer
 * (idempotent, acks=all, murmur2) and the consumer (no auto-commit, no topic creation).
 */
import { Kafka, logLevel as KafkaLogLevel, type ConsumerConfig, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { GroupConsumerOptions, KafkaClientOptions } from '../types.js';

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

/** The kafkajs client behind the adapter (tests and tools that inspect Kafka from outside use it too). */
export function createKafkajs(options: KafkaClientOptions): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: options.logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    ...(options.logger ? { logCreator: logCreator(options.logger) } : {}),
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5_000 },
    connectionTimeout: 3_000,
  });
}

export function consumerConfig(options: GroupConsumerOptions): ConsumerConfig {
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  return {
    groupId: options.groupId,
    sessionTimeout,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    rebalanceTimeout: options.rebalanceTimeoutMs ?? sessionTimeout * 2,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    ...(options.maxWaitTimeMs === undefined ? {} : { maxWaitTimeInMs: options.maxWaitTimeMs }),
    allowAutoTopicCreation: false,
  };
}

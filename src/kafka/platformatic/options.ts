/**
 * Options shared by every @platformatic/kafka client of the adapter (issue 14).
 *
 * MEASUREMENT-ONLY unless the bench says otherwise: kafkajs stays the default client (the
 * design card's choice); this adapter exists so `KAFKA_CLIENT=platformatic` can run the same
 * runner, relay and edge for `npm run bench`, and @platformatic/kafka stays a devDependency
 * until it is ≥ 20 % faster end to end (issue 14).
 */
import type { BaseOptions } from '@platformatic/kafka';
import type { KafkaClientOptions } from '../types.js';

/**
 * The library retries a request only when every error in its chain says `canRetry`
 * (base.js kPerformWithRetry), with this delay between attempts: 100 ms doubling to 2 s,
 * 8 attempts — close to what the kafkajs adapter asks of kafkajs (8 retries, 100 ms → 5 s).
 */
export function retryDelay(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(2_000, 100 * 2 ** Math.max(0, attempt - 1));
}

export function baseOptions(options: KafkaClientOptions, suffix: string): BaseOptions {
  return {
    clientId: `${options.clientId}-${suffix}`,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: 3_000,
    // Per request; the library's 5 s is short for an acks=all write during a leader election.
    timeout: 10_000,
    retries: 8,
    retryDelay,
    // Metadata younger than this is reused; a leader change clears it (hasStaleMetadata errors).
    metadataMaxAge: 5_000,
    autocreateTopics: false,
  };
}

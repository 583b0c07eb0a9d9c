/**
 * Options shared by every @platformatic/kafka client of the adapter (issue 14).
 *
 * MEASUREMENT-ONLY unless the bench says otherwise: kafkajs stays the default client (the
 * design card's choice); this adapter exists so `KAFKA_CLIENT=platformatic` can run the same
 * runner, relay and edge for `npm run bench`, and @platformatic/kafka stays a devDependency
 * until it is ≥ 20 % faster end to end (docs/ARCHITECTURE.md, issue 14).
 */
import type { BaseOptions } from '@platformatic/kafka';
import type { Logger } from 'pino';

export interface PlatformaticOptions {
  brokers: readonly string[];
  clientId: string;
  logger?: Logger;
  /** Per-request timeout (default 10 s; the library's default of 5 s is shorter than an acks=all write during a leader election). */
  requestTimeoutMs?: number;
}

/**
 * The library retries a request only when every error in its chain says `canRetry`
 * (base.js kPerformWithRetry), with this delay between attempts: 100 ms doubling to 2 s,
 * 8 attempts — close to what the kafkajs adapter asks of kafkajs (8 retries, 100 ms → 5 s).
 */
export function retryDelay(_client: unknown, _operation: string, attempt: number): number {
  return Math.min(2_000, 100 * 2 ** Math.max(0, attempt - 1));
}

export function baseOptions(options: PlatformaticOptions, suffix: string): BaseOptions {
  return {
    clientId: `${options.clientId}-${suffix}`,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: 3_000,
    timeout: options.requestTimeoutMs ?? 10_000,
    retries: 8,
    retryDelay,
    // Metadata younger than this is reused; a leader change clears it (hasStaleMetadata errors).
    metadataMaxAge: 5_000,
    autocreateTopics: false,
  };
}

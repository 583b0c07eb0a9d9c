/**
 * The resources every process is built from, each a fastify plugin (fastify-plugin,
 * so its decorations are visible to the plugins registered after it) that opens its
 * resource when registered and releases it in onClose. fastify runs onClose hooks in
 * reverse order of registration, so `app.close()` is the whole shutdown of a process:
 * what was opened last (the runners, the publisher) is closed first, what everything
 * else used (the producer, the PostgreSQL pool) last.
 *
 *   runtimePlugin   config, Kafka client, topics, codec, PostgreSQL pool (bootstrapped and owned when not given)
 *   metricsPlugin   prom-client registry + GET /metrics
 *   producerPlugin  idempotent Kafka producer, connected flag         (disconnected on close)
 *   publisherPlugin batching publisher over the producer              (flushed on close)
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { bootstrap, type Runtime } from '../bootstrap.js';
import type { Config } from '../config/index.js';
import type { KafkaProducer } from '../kafka/index.js';
import type { Logger } from '../logger.js';
import type { Registry } from '../metrics/index.js';
import { createEventPublisher, type EventPublisher, type PublisherOptions } from '../producers/publisher.js';

/** What a process needs from bootstrap: a test or a drill passes its own isolated stack. */
export type ProcessRuntime = Pick<Runtime, 'config' | 'pool' | 'kafka' | 'topics' | 'codec'>;

/** What every builder takes. */
export interface ProcessOptions {
  config: Config;
  logger: Logger;
  /** Shared, not closed by the process; when absent the process bootstraps its own and closes it. */
  runtime?: ProcessRuntime;
  /** Default: a new registry with the default process metrics. */
  metrics?: Registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    runtime: ProcessRuntime;
    metricsRegistry: Registry;
    kafkaProducer: KafkaProducer;
    /** False until the producer connected, and again after it disconnected. */
    isKafkaProducerConnected: () => boolean;
    eventPublisher: EventPublisher;
  }
}

export const runtimePlugin = fp<{ options: ProcessOptions }>(async (app, { options }) => {
  if (options.runtime) return void app.decorate('runtime', options.runtime);
  const owned = await bootstrap(options.config, options.logger);
  app.decorate('runtime', owned);
  app.addHook('onClose', async () => owned.close());
}, { name: 'acme-sync-runtime' });

export const metricsPlugin = fp<{ registry: Registry }>(async (app, { registry }) => {
  app.decorate('metricsRegistry', registry);
  app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}, { name: 'acme-sync-metrics' });

export interface ProducerPluginOptions {
  logger: Logger;
  /**
   * How long start-up waits for the first connection. When Kafka is not there by then
   * the process still starts (its /readyz says why) and keeps trying in the background;
   * `Infinity` waits (and fails start-up with the connect error).
   */
  startupWaitMs: number;
}

export const producerPlugin = fp<ProducerPluginOptions>(async (app, { logger, startupWaitMs }) => {
  const producer = app.runtime.kafka.producer();
  app.decorate('kafkaProducer', producer);
  app.decorate('isKafkaProducerConnected', () => producer.isConnected());
  let closing = false;
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onClose', async () => {
    closing = true;
    clearTimeout(timer);
    await producer.disconnect();
  });
  if (startupWaitMs === Infinity) return producer.connect();
  const connect = async (delayMs: number): Promise<void> => {
    try {
      await producer.connect();
      if (closing) await producer.disconnect(); // connected after close() began
    } catch (err) {
      if (closing) return;
      logger.warn({ err, retryInMs: delayMs }, 'Kafka producer cannot connect yet');
      timer = setTimeout(() => void connect(Math.min(delayMs * 2, 10_000)), delayMs);
    }
  };
  let startupWait: NodeJS.Timeout | undefined;
  await Promise.race([connect(500), new Promise<void>((resolve) => (startupWait = setTimeout(resolve, startupWaitMs)))]);
  clearTimeout(startupWait);
}, { name: 'acme-sync-producer', dependencies: ['acme-sync-runtime'] });

export const publisherPlugin = fp<Omit<PublisherOptions, 'producer' | 'codec' | 'topics'>>(async (app, options) => {
  const publisher = createEventPublisher({ ...options, producer: app.kafkaProducer, codec: app.runtime.codec, topics: app.runtime.topics });
  app.decorate('eventPublisher', publisher);
  app.addHook('onClose', async () => publisher.close());
}, { name: 'acme-sync-publisher', dependencies: ['acme-sync-producer'] });

/** Build a process on `app` and make it ready; on a failure close what opened, then throw. */
export async function buildProcess(app: FastifyInstance, build: () => Promise<void>): Promise<FastifyInstance> {
  try {
    await build();
    await app.ready();
    return app;
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
}

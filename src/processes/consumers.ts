/**
 * `createConsumers`: the consumers process — one consumer group per flow
 * (`<CONSUMER_GROUP_PREFIX>.<flow>` unless `groupIdOf` says otherwise), the tenant
 * directory and Acme enrichment they share, one producer for outputs and the DLQ, and
 * /metrics, /healthz, /readyz and the dashboard query. The runners are the last
 * resource opened, so `app.close()` stops them first (each finishes its batch in hand
 * and leaves its group), then the producer disconnects and the pool ends.
 * `app.consumersFailed` rejects when a runner gives up: the process must exit non-zero.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type pg from 'pg';
import { acmeClientsFor, oauthClientOf } from '../acme/client.js';
import { acmeOutboundOf } from '../acme/outbound.js';
import { createCalendarFlow } from '../consumers/calendar/index.js';
import { createConsumerRunner, createTenantDirectory, type AcmeReader, type ConsumerRunner, type Flow, type FlowContext, type RunnerOptions } from '../consumers/runtime/index.js';
import { createOutboxRelay } from '../consumers/runtime/outbox.js';
import { consumerRoutes } from '../consumers/server.js';
import { createTouchpointFlow } from '../consumers/touchpoints/index.js';
import { createWritebackFlow, createWritebackMetrics, type AcmeWriter } from '../consumers/writeback/index.js';
import type { Config } from '../config/index.js';
import { createLaneGate, type LaneGate } from '../consumers/lane-gate.js';
import { HISTORY_KIND_OF, laneTopics } from '../kafka/lanes.js';
import type { TopicNames } from '../kafka/topics.js';
import { createMetricsRegistry, type Registry } from '../metrics/index.js';
import { createSecretBox } from '../tenants/secret-box.js';
import { createTenantRepository } from '../tenants/repository.js';
import { buildProcess, metricsPlugin, producerPlugin, runtimePlugin, type ProcessOptions } from './plugins.js';

/** What a flow may need besides the pool: the write-back flow writes to Acme and counts its outcomes. */
export interface FlowDeps {
  pool: pg.Pool;
  writer: (tenantId: string) => AcmeWriter;
  metrics: Registry;
}

export const FLOWS = {
  calendar: ({ pool }: FlowDeps): Flow<any> => createCalendarFlow({ pool }),
  touchpoints: ({ pool }: FlowDeps): Flow<any> => createTouchpointFlow({ pool }),
  // Two-way calendar sync (issue 15): not in DEFAULT_FLOWS; each tenant also switches it on.
  writeback: ({ pool, writer, metrics }: FlowDeps): Flow<any> => createWritebackFlow({ pool, acme: writer, metrics: createWritebackMetrics(metrics) }),
} as const;
export type FlowName = keyof typeof FLOWS;
export const FLOW_NAMES = Object.keys(FLOWS) as FlowName[];
/** What `acme-sync consumers` runs without `--flows`. */
export const DEFAULT_FLOWS: readonly FlowName[] = ['calendar', 'touchpoints'];

/** The input topics (kinds) a flow reads, for drain checks and benchmarks; nothing is written. */
export function flowInputs(name: FlowName, pool: pg.Pool): Flow<any>['inputs'] {
  const writer = (): AcmeWriter => {
    throw new Error('flowInputs: this flow instance only names its inputs');
  };
  return FLOWS[name]({ pool, writer, metrics: createMetricsRegistry({ service: 'flow-inputs', collectDefault: false }) }).inputs;
}

export interface ConsumersOptions extends ProcessOptions {
  flows?: readonly FlowName[];
  /** Default: `<CONSUMER_GROUP_PREFIX>.<flow>`. */
  groupIdOf?: (flow: FlowName) => string;
  /** How the flows read Acme (default: an Acme client per tenant). */
  acme?: (tenantId: string) => AcmeReader;
  /** Overrides of the settings-derived runner options (tests, benchmarks). */
  runner?: Partial<Pick<RunnerOptions, 'retry' | 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBytesPerPartition' | 'partitionsConsumedConcurrently' | 'stallAfterMs'>>;
  tenantCacheTtlMs?: number;
  /** Serve the dashboard query (default: when the touch-point flow runs here). */
  dashboard?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    consumerRunners: readonly ConsumerRunner[];
    /** Rejects with the first runner's failure. */
    consumersFailed: Promise<never>;
  }
}

/** Runner settings from the validated configuration. */
export function runnerSettings(config: Config): Pick<RunnerOptions, 'retry' | 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'maxBytesPerPartition' | 'partitionsConsumedConcurrently' | 'maxWaitTimeMs' | 'stallAfterMs'> {
  return {
    sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.CONSUMER_HEARTBEAT_INTERVAL_MS,
    maxBytesPerPartition: config.CONSUMER_MAX_BYTES_PER_PARTITION,
    partitionsConsumedConcurrently: config.CONSUMER_PARTITIONS_IN_FLIGHT,
    maxWaitTimeMs: config.CONSUMER_MAX_WAIT_MS,
    stallAfterMs: config.CONSUMER_STALL_AFTER_MS,
    retry: { initialDelayMs: config.CONSUMER_RETRY_INITIAL_MS, maxDelayMs: config.CONSUMER_RETRY_MAX_MS },
  };
}

/**
 * A flow's history runner (src/kafka/lanes.ts): group `<group>.history` reading the
 * history topics, at most CONSUMER_HISTORY_PARTITIONS_IN_FLIGHT partitions at once in
 * batches of at most CONSUMER_HISTORY_MAX_BYTES_PER_PARTITION, so backfills take a bounded
 * share of the consumers and PostgreSQL while live partitions keep their own. The flow is
 * named `<flow>_history` so its metrics (lag, end-to-end latency) are a series of their own.
 */
/** A flow gets a history-lane group when every topic it reads has a history twin (src/kafka/lanes.ts). */
export function hasHistoryLane(name: FlowName, pool: pg.Pool): boolean {
  return flowInputs(name, pool).every((kind) => kind in HISTORY_KIND_OF);
}

export function historyLane(config: Config, topics: TopicNames, flow: Flow<any>, groupId: string, gate: LaneGate): Pick<RunnerOptions, 'topics' | 'flow' | 'groupId' | 'partitionsConsumedConcurrently' | 'maxBytesPerPartition'> {
  return {
    topics: laneTopics(topics, 'history'),
    flow: gate.history(flow, `${flow.name}_history`),
    groupId: `${groupId}.history`,
    partitionsConsumedConcurrently: config.CONSUMER_HISTORY_PARTITIONS_IN_FLIGHT,
    maxBytesPerPartition: config.CONSUMER_HISTORY_MAX_BYTES_PER_PARTITION,
  };
}

const runnersPlugin = fp<{ options: ConsumersOptions; flows: readonly FlowName[] }>(async (app, { options, flows }) => {
  const { config, logger } = options;
  const { pool, kafka, codec, topics } = app.runtime;
  const repository = createTenantRepository(pool, createSecretBox(config.MASTER_KEYS));
  const outbound = acmeOutboundOf(config, logger);
  app.addHook('onClose', async () => outbound.close());
  const acme = options.acme ?? acmeClientsFor({
    tenants: repository, logger, metrics: app.metricsRegistry, pool, stages: { get: 'enrich' }, outbound,
    retry: { retries: config.ACME_RETRIES, deadlineMs: config.ACME_RETRY_DEADLINE_MS }, ...oauthClientOf(config),
  });
  const context: FlowContext = {
    now: Date.now, acme, logger,
    tenants: createTenantDirectory({ repository, acme, ttlMs: options.tenantCacheTtlMs ?? config.CONSUMER_TENANT_CACHE_TTL_MS }),
  };
  const writebackMetrics = createWritebackMetrics(app.metricsRegistry);
  // Writes get their own clients: errors at stage writeback, retries counted as write-back outcome `retried`.
  const writer = acmeClientsFor({
    tenants: repository, logger, metrics: app.metricsRegistry, pool, stages: { get: 'writeback', other: 'writeback' }, outbound, ...oauthClientOf(config),
    retry: { retries: config.ACME_RETRIES, deadlineMs: config.ACME_RETRY_DEADLINE_MS, onRetry: () => writebackMetrics.writebacks.inc({ outcome: 'retried' }) },
  });
  const settings = runnerSettings(config);
  // One outbox relay per process publishes what every runner here committed (issue 14).
  const relay = createOutboxRelay({ pool, producer: app.kafkaProducer, logger, metrics: app.metricsRegistry });
  relay.start();
  // Live first (issue 17): history batches wait for live batches in flight and keep to their rate.
  const gate = createLaneGate({ maxRecordsPerSecond: config.CONSUMER_HISTORY_MAX_RECORDS_PER_SECOND });
  const runners = flows.flatMap((name) => {
    const groupId = options.groupIdOf?.(name) ?? `${config.CONSUMER_GROUP_PREFIX}.${name}`;
    const common = { kafka, pool, codec, context, logger, metrics: app.metricsRegistry, producer: app.kafkaProducer, relay, ...settings, ...options.runner, retry: { ...settings.retry, ...options.runner?.retry } };
    const flowOf = () => FLOWS[name]({ pool, writer, metrics: app.metricsRegistry });
    const live = createConsumerRunner({ ...common, topics, flow: gate.live(flowOf()), groupId });
    // The history lane (issue 17): its own group and topics, a bounded share of the consumers —
    // for the flows that read Acme's records (write-back reads our calendar's changes: no history).
    return hasHistoryLane(name, pool) ? [live, createConsumerRunner({ ...common, ...historyLane(config, topics, flowOf(), groupId, gate) })] : [live];
  });
  app.decorate('consumerRunners', runners);
  const failed = Promise.race(runners.map((r) => r.done.then(() => new Promise<never>(() => undefined))));
  failed.catch(() => undefined);
  app.decorate('consumersFailed', failed);
  app.addHook('onClose', async () => {
    await Promise.allSettled(runners.map((r) => r.stop()));
    await relay.stop();
  });
  await consumerRoutes(app, { pool, metrics: app.metricsRegistry, runners, dashboard: options.dashboard ?? flows.includes('touchpoints'), metricsRoute: false });
}, { name: 'acme-sync-consumer-runners', dependencies: ['acme-sync-producer'] });

export async function createConsumers(options: ConsumersOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  return buildProcess(app, async () => {
    await app.register(runtimePlugin, { options });
    await app.register(metricsPlugin, { registry: options.metrics ?? createMetricsRegistry({ service: 'acme-sync-consumers' }) });
    await app.register(producerPlugin, { logger: options.logger, startupWaitMs: Infinity });
    await app.register(runnersPlugin, { options, flows: options.flows ?? DEFAULT_FLOWS });
  }).then(async (ready) => {
    // Joining a group can take a session timeout (a dead member's partitions), longer than
    // fastify's plugin timeout: the runners start once the app is ready; a failure closes it.
    try {
      await Promise.all(ready.consumerRunners.map((r) => r.start()));
    } catch (err) {
      await ready.close().catch(() => undefined);
      throw err;
    }
    return ready;
  });
}

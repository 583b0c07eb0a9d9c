/**
 * Drains a backlog through the project's real consumers process (createConsumers,
 * src/processes/consumers.ts: the runner, the flow, the tenant directory), in this
 * process, with a fresh consumer group, and measures it: wall time and this
 * process's CPU from "joined and fetching" (start() resolved: kafkajs' run() returns
 * after the group join) to "PostgreSQL holds the offsets of the last record".
 */
import type { AcmeReader } from '../../src/consumers/runtime/index.js';
import { ERROR_CODES, PermanentError } from '../../src/errors/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry, type Registry } from '../../src/metrics/index.js';
import { createKafkaClient, kafkaOptionsFrom, type KafkaClientName } from '../../src/kafka/index.js';
import { createConsumers, flowInputs, type FlowName as AnyFlow } from '../../src/processes/consumers.js';
import { highWatermarks, total, waitForStored } from './drain.js';
import { resetFlowState } from './seed.js';
import type { IsolatedStack } from './stack.js';
import { sampleLockWaits } from './lock-waits.js';
import { startMeter } from './stats.js';

/** The flows the benchmarks measure (write-back calls Acme: not a consumer benchmark). */
export type FlowName = Extract<AnyFlow, 'calendar' | 'touchpoints'>;

export interface RunnerDrain {
  events: number;
  seconds: number;
  eventsPerSec: number;
  cpuUsPerEvent: number;
  /** Records per batch (one partition's fetch), from the runner's batch histogram. */
  recordsPerBatch: number;
  written: number;
  skipped: number;
  dlq: number;
  /** Backend-ms this schema's transactions waited for locks during the drain (sampled pg_locks). */
  lockWaitMs: number;
}

export interface RunnerDrainOptions {
  /** Stop after this many records (a warm-up); default: the whole backlog. */
  limit?: number;
  maxBytesPerPartition?: number;
  partitionsConsumedConcurrently?: number;
  /**
   * The Kafka client behind the port (KAFKA_CLIENT) for the runner's consumer and the
   * outbox relay's producer; default: the stack's (kafkajs). Issue 14: the same builder,
   * another adapter.
   */
  client?: KafkaClientName;
}

/** Acme is never called: every user and contact is already in PostgreSQL (a call fails the record, and the bench counts it). */
export function benchAcme(): { acme: (tenantId: string) => AcmeReader; acmeCalls: () => number } {
  let calls = 0;
  const reader: AcmeReader = {
    async get(type, id) {
      calls++;
      throw new PermanentError(`bench: Acme is not called (${type} ${id})`, { code: ERROR_CODES.ACME_NOT_FOUND, stage: 'enrich' });
    },
  };
  return { acme: () => reader, acmeCalls: () => calls };
}

async function metricValue(registry: Registry, name: string, suffix = '', label?: [string, string]): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => (suffix === '' || (v as { metricName?: string }).metricName === `${name}${suffix}`) && (!label || v.labels[label[0]] === label[1]))
    .reduce((sum, v) => sum + v.value, 0);
}

let runs = 0;

export async function drainWithRunner(stack: IsolatedStack, flowName: FlowName, options: RunnerDrainOptions = {}): Promise<RunnerDrain> {
  await resetFlowState(stack);
  const marks = await highWatermarks(stack.admin, flowInputs(flowName, stack.pool).map((k) => stack.topics[k]));
  const target = Math.min(options.limit ?? Infinity, total(marks));
  const metrics = createMetricsRegistry({ service: 'bench', collectDefault: false });
  const groupId = `${stack.id}.bench.${flowName}.${++runs}.${Date.now()}`;
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'error', name: 'bench' });
  const client = options.client ?? stack.config.KAFKA_CLIENT;
  const config = { ...stack.config, KAFKA_CLIENT: client };
  const runtime = client === stack.config.KAFKA_CLIENT ? stack : { ...stack, config, kafka: createKafkaClient(kafkaOptionsFrom(config)) };
  const app = await createConsumers({
    config, logger, runtime, metrics, flows: [flowName], groupIdOf: () => groupId, acme: benchAcme().acme,
    tenantCacheTtlMs: 60_000, dashboard: false,
    runner: {
      ...(options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
      ...(options.partitionsConsumedConcurrently ? { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently } : {}),
    },
  });
  const runner = app.consumerRunners[0]!;
  try {
    const locks = sampleLockWaits(stack.config.DATABASE_URL, stack.config.DATABASE_SCHEMA);
    const meter = startMeter();
    await Promise.race([waitForStored(stack.pool, [groupId], marks, target, { pollMs: 25 }), runner.done.then(() => Promise.reject(new Error('runner stopped')))]);
    const { wallMs, cpuUs } = meter.stop();
    const { waitMs } = await locks.stop();
    const batches = await metricValue(metrics, 'acme_sync_consumer_batch_seconds', '_count');
    const records = (outcome: string) => metricValue(metrics, 'acme_sync_consumer_records_total', '', ['outcome', outcome]);
    return {
      events: target, seconds: wallMs / 1000, eventsPerSec: target / (wallMs / 1000), cpuUsPerEvent: cpuUs / target,
      recordsPerBatch: batches > 0 ? target / batches : NaN, written: await records('written'), skipped: await records('skipped'), dlq: await records('dlq'), lockWaitMs: waitMs,
    };
  } finally {
    await app.close().catch(() => undefined);
  }
}

/**
 * Drains a backlog through the project's real consumer runner and flow, in this
 * process, with a fresh consumer group, and measures it: wall time and this
 * process's CPU from "joined and fetching" (start() resolved: kafkajs' run() returns
 * after the group join) to "PostgreSQL holds the offsets of the last record".
 */
import { createCalendarFlow } from '../../src/consumers/calendar/index.js';
import { createConsumerRunner, createTenantDirectory, type AcmeReader, type Flow, type FlowContext } from '../../src/consumers/runtime/index.js';
import { createTouchpointFlow } from '../../src/consumers/touchpoints/index.js';
import { ERROR_CODES, PermanentError } from '../../src/errors/index.js';
import { createProducer } from '../../src/kafka/index.js';
import { createLogger } from '../../src/logger.js';
import { createMetricsRegistry, type Registry } from '../../src/metrics/index.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { highWatermarks, total, waitForStored } from './drain.js';
import { resetFlowState } from './seed.js';
import type { IsolatedStack } from './stack.js';
import { startMeter } from './stats.js';

export type FlowName = 'calendar' | 'touchpoints';

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
}

export interface RunnerDrainOptions {
  /** Stop after this many records (a warm-up); default: the whole backlog. */
  limit?: number;
  maxBytesPerPartition?: number;
  partitionsConsumedConcurrently?: number;
}

/** Everything the consumers process builds around its runners, minus Acme: every user and contact is already in PostgreSQL. */
export function createBenchContext(stack: IsolatedStack): { context: FlowContext; acmeCalls: () => number } {
  let calls = 0;
  const repository = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
  const acme = (): AcmeReader => ({
    async get(type, id) {
      calls++;
      throw new PermanentError(`bench: Acme is not called (${type} ${id})`, { code: ERROR_CODES.ACME_NOT_FOUND, stage: 'enrich' });
    },
  });
  const logger = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'error', name: 'bench' });
  return { context: { now: Date.now, tenants: createTenantDirectory({ repository, acme, ttlMs: 60_000 }), acme, logger }, acmeCalls: () => calls };
}

export function createFlow(stack: IsolatedStack, name: FlowName): Flow<any> {
  return name === 'calendar' ? createCalendarFlow({ pool: stack.pool }) : createTouchpointFlow({ pool: stack.pool });
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
  const flow = createFlow(stack, flowName);
  const marks = await highWatermarks(stack.admin, flow.inputs.map((k) => stack.topics[k]));
  const target = Math.min(options.limit ?? Infinity, total(marks));
  const { context } = createBenchContext(stack);
  const metrics = createMetricsRegistry({ service: 'bench', collectDefault: false });
  const producer = createProducer(stack.kafka);
  await producer.connect();
  const groupId = `${stack.id}.bench.${flowName}.${++runs}.${Date.now()}`;
  const runner = createConsumerRunner({
    kafka: stack.kafka, pool: stack.pool, codec: stack.codec, topics: stack.topics, flow, groupId, context, logger: context.logger, metrics, producer,
    ...(options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
    ...(options.partitionsConsumedConcurrently ? { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently } : {}),
  });
  try {
    await runner.start();
    const meter = startMeter();
    await Promise.race([waitForStored(stack.pool, [groupId], marks, target, { pollMs: 25 }), runner.done.then(() => Promise.reject(new Error('runner stopped')))]);
    const { wallMs, cpuUs } = meter.stop();
    const batches = await metricValue(metrics, 'acme_sync_consumer_batch_seconds', '_count');
    const records = (outcome: string) => metricValue(metrics, 'acme_sync_consumer_records_total', '', ['outcome', outcome]);
    return {
      events: target, seconds: wallMs / 1000, eventsPerSec: target / (wallMs / 1000), cpuUsPerEvent: cpuUs / target,
      recordsPerBatch: batches > 0 ? target / batches : NaN, written: await records('written'), skipped: await records('skipped'), dlq: await records('dlq'),
    };
  } finally {
    await runner.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
}

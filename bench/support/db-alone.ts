/**
 * The database writes alone — exactly the SQL the runner runs per batch, without Kafka
 * (issue 14: the old variant ran only the sink's upsert, then a hand-made copy of the
 * runner's transaction). Each batch goes through the runner's own database step,
 * `runBatchInDatabase` (src/consumers/runtime/stages/apply.ts): the tenant check, the
 * flow's `prepare` (its reads), then one transaction — the offset lock, the flow's
 * `apply` (with bisection), the DLQ index, the outbox insert, the ledger and the next
 * offset — COMMIT. So it cannot drift from the runner. Left out, because they are not
 * SQL: fetching and decoding (records are decoded before the clock starts, from their
 * Avro bytes), and the relay publishing the outbox to Kafka (the outbox is emptied
 * between repetitions by resetFlowState).
 * Batches as the runner sees them: the runner's median records per batch, 3 partitions
 * at a time (partitionsConsumedConcurrently), a key always in the same partition.
 */
import type { KafkaProducer, OutgoingRecord } from '../../src/kafka/index.js';
import { createCalendarFlow } from '../../src/consumers/calendar/index.js';
import { createTenantDirectory, type Flow, type FlowContext, type InboundRecord } from '../../src/consumers/runtime/index.js';
import { runBatchInDatabase, type ApplyDeps } from '../../src/consumers/runtime/stages/apply.js';
import { createTouchpointFlow } from '../../src/consumers/touchpoints/index.js';
import { createLogger } from '../../src/logger.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import type { Dataset } from './dataset.js';
import { benchAcme, type FlowName } from './runner-drain.js';
import { resetFlowState } from './seed.js';
import type { IsolatedStack } from './stack.js';
import { sampleLockWaits } from './lock-waits.js';
import { startMeter } from './stats.js';

export interface DbAloneResult {
  events: number;
  seconds: number;
  eventsPerSec: number;
  cpuUsPerEvent: number;
  /** Backend-ms this schema's transactions waited for locks (sampled pg_locks). */
  lockWaitMs: number;
}

const KIND: Record<FlowName, 'appointments' | 'activities'> = { calendar: 'appointments', touchpoints: 'activities' };

function laneOf(key: string, lanes: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return Math.abs(h) % lanes;
}

/** Decoded records (encode + decode with the stack's codec, as the runner gets them), once per dataset and flow. */
const decoded = new WeakMap<Dataset, Map<FlowName, { key: string; value: unknown; schemaId: number }[]>>();

async function decodedOf(stack: IsolatedStack, data: Dataset, flow: FlowName) {
  const byFlow = decoded.get(data) ?? new Map<FlowName, { key: string; value: unknown; schemaId: number }[]>();
  decoded.set(data, byFlow);
  let out = byFlow.get(flow);
  if (out === undefined) {
    out = [];
    const source = flow === 'calendar' ? data.appointments : data.activities;
    for (const { key, value } of source) {
      const d = await stack.codec.decode(await stack.codec.encode(KIND[flow], value));
      out.push({ key, value: d.value, schemaId: d.schemaId });
    }
    byFlow.set(flow, out);
  }
  return out;
}

/** One batch of one partition: the runner's own per-batch database step (stages/apply.ts), without Kafka. */
async function applyBatch(deps: ApplyDeps, records: InboundRecord[], stored: string | null): Promise<string> {
  return (await runBatchInDatabase(deps, records, stored)).nextOffset;
}

let runs = 0;

/**
 * The runner before the outbox (issue 14's "before"): the same SQL, but each batch's outputs
 * and DLQ records are produced to Kafka (acks=all, in byte-bounded requests, as the runner
 * did) inside the transaction, while the offset row and the sink rows are locked, instead of
 * being inserted into the outbox.
 */
function produceInsideTransaction(producer: KafkaProducer): NonNullable<ApplyDeps['recordOutgoing']> {
  return async (_db, _group, messages) => {
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list === undefined) byTopic.set(m.topic, [m.message]);
      else list.push(m.message);
    }
    await producer.send([...byTopic].map(([topic, records]) => ({ topic, records })));
  };
}

export async function drainDatabaseAlone(stack: IsolatedStack, data: Dataset, flowName: FlowName, options: { batchSize: number; lanes?: number; limit?: number; produceInTransaction?: boolean }): Promise<DbAloneResult> {
  await resetFlowState(stack);
  const all = await decodedOf(stack, data, flowName);
  const items = all.slice(0, options.limit ?? all.length);
  const laneCount = options.lanes ?? 3;
  const topic = stack.topics[KIND[flowName]];
  const lanes: InboundRecord[][] = Array.from({ length: laneCount }, () => []);
  for (const item of items) {
    const partition = laneOf(item.key, laneCount);
    const lane = lanes[partition]!;
    lane.push({ topic, kind: KIND[flowName], partition, offset: String(lane.length), key: item.key, value: item.value, schemaId: item.schemaId, headers: {}, timestamp: Date.now(), raw: null });
  }
  const flow = (flowName === 'calendar' ? createCalendarFlow({ pool: stack.pool }) : createTouchpointFlow({ pool: stack.pool })) as Flow<unknown>;
  const acme = benchAcme().acme;
  const ctx: FlowContext = {
    now: Date.now, acme, logger: createLogger({ level: 'error', name: 'bench-db-alone' }),
    tenants: createTenantDirectory({ repository: createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS)), acme, ttlMs: 60_000 }),
  };
  const groupId = `${stack.id}.bench.db-alone.${flowName}.${++runs}`;
  const batchSize = Math.max(1, Math.round(options.batchSize));
  const producer = options.produceInTransaction ? stack.kafka.producer() : undefined;
  await producer?.connect();
  const locks = sampleLockWaits(stack.config.DATABASE_URL, stack.config.DATABASE_SCHEMA);
  const meter = startMeter();
  const deps: ApplyDeps = { pool: stack.pool, codec: stack.codec, topics: stack.topics, flow, context: ctx, groupId, clientId: 'bench-db-alone', ...(producer ? { recordOutgoing: produceInsideTransaction(producer) } : {}) };
  await Promise.all(lanes.map(async (lane) => {
    // The stored offset as the runner remembers it between its batches (null before the first).
    let stored: string | null = null;
    for (let i = 0; i < lane.length; i += batchSize) stored = await applyBatch(deps, lane.slice(i, i + batchSize), stored);
  }));
  const { wallMs, cpuUs } = meter.stop();
  const { waitMs } = await locks.stop();
  await producer?.disconnect();
  return { events: items.length, seconds: wallMs / 1000, eventsPerSec: items.length / (wallMs / 1000), cpuUsPerEvent: cpuUs / items.length, lockWaitMs: waitMs };
}

/**
 * The database writes alone — exactly the SQL the runner runs per batch, without Kafka
 * (issue 14: the old variant ran only the sink's upsert). Per batch, as
 * src/consumers/runtime/runner.ts `processOnce` does it:
 *   the tenant check of admit (the tenant directory) → the flow's own `prepare` (its
 *   reads: tenants, users, the contacts table) → ONE transaction: lock the partition's
 *   offset row (offsets.ts `lockNextOffset`), the flow's own `apply` (contact locks,
 *   sinks), the DLQ index (`claimDlqEntries`), the ledger (`addToLedger`), the next
 *   offset (`storeNextOffset`), COMMIT.
 * Left out, because they are not SQL: fetching and decoding (the records are decoded
 * before the clock starts, from their Avro bytes, so `prepare` sees what the runner
 * sees), encoding the outputs and producing them and the DLQ records to Kafka.
 * Batches as the runner sees them: the runner's median records per batch, 3 partitions
 * at a time (partitionsConsumedConcurrently), a key always in the same partition.
 *
 * Where the runner's own per-batch function plugs in: the s3-runner restructuring
 * (stages, transactional outbox) is to expose the runner's batch step without Kafka;
 * `applyBatch` below is the one place to replace with it, so this variant keeps
 * running the runner's SQL whatever the runner becomes (the outbox insert included).
 */
import type pg from 'pg';
import { withTransaction } from '../../src/db/index.js';
import { createCalendarFlow } from '../../src/consumers/calendar/index.js';
import { dlqIndexEntry, identityOf } from '../../src/consumers/runtime/dlq.js';
import { claimDlqEntries } from '../../src/consumers/runtime/dlq-index.js';
import { EMPTY_COUNTS, addCounts, addToLedger, countBy, type LedgerCounts } from '../../src/consumers/runtime/ledger.js';
import { lockNextOffset, storeNextOffset, type PartitionRef } from '../../src/consumers/runtime/offsets.js';
import { createTenantDirectory, type Flow, type FlowContext, type InboundRecord } from '../../src/consumers/runtime/index.js';
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

/** One batch of one partition: the runner's per-batch SQL, in its order (runner.ts processOnce), without Kafka. */
async function applyBatch(pool: pg.Pool, flow: Flow<unknown>, ctx: FlowContext, groupId: string, ref: PartitionRef, records: InboundRecord[]): Promise<void> {
  // admit: the tenant check (decoding happened before the clock).
  for (const r of records) if ((await ctx.tenants.get(identityOf(r).tenantId)) === undefined) throw new Error('bench: unknown tenant in the dataset');
  const { ready, dlq } = await flow.prepare(records, ctx);
  const received = countBy(records, (r) => identityOf(r).tenantId);
  const nextOffset = (BigInt(records[records.length - 1]!.offset) + 1n).toString();
  await withTransaction(pool, async (db) => {
    await lockNextOffset(db, ref);
    const result = await flow.apply(db, ready, ctx);
    const fresh = await claimDlqEntries(db, dlq.map((entry) => dlqIndexEntry(entry, groupId)));
    const isNew = new Map(dlq.map((entry, i) => [entry, fresh[i]!]));
    const tenantOf = (entry: (typeof dlq)[number]) => identityOf(entry.record).tenantId;
    const newDlq = countBy(dlq.filter((e) => isNew.get(e)), tenantOf);
    const repeats = countBy(dlq.filter((e) => !isNew.get(e)), tenantOf);
    const counts = new Map<string, LedgerCounts>();
    for (const [tenantId, n] of received) {
      counts.set(tenantId, addCounts(EMPTY_COUNTS, {
        received: n, written: result.written.get(tenantId) ?? 0, dlq: newDlq.get(tenantId) ?? 0, skipped: (result.skipped.get(tenantId) ?? 0) + (repeats.get(tenantId) ?? 0),
      }));
    }
    await addToLedger(db, groupId, counts);
    await storeNextOffset(db, ref, nextOffset);
  });
}

let runs = 0;

export async function drainDatabaseAlone(stack: IsolatedStack, data: Dataset, flowName: FlowName, options: { batchSize: number; lanes?: number; limit?: number }): Promise<DbAloneResult> {
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
  const locks = sampleLockWaits(stack.config.DATABASE_URL, stack.config.DATABASE_SCHEMA);
  const meter = startMeter();
  await Promise.all(lanes.map(async (lane, partition) => {
    const ref: PartitionRef = { groupId, topic, partition };
    for (let i = 0; i < lane.length; i += batchSize) await applyBatch(stack.pool, flow, ctx, groupId, ref, lane.slice(i, i + batchSize));
  }));
  const { wallMs, cpuUs } = meter.stop();
  const { waitMs } = await locks.stop();
  return { events: items.length, seconds: wallMs / 1000, eventsPerSec: items.length / (wallMs / 1000), cpuUsPerEvent: cpuUs / items.length, lockWaitMs: waitMs };
}

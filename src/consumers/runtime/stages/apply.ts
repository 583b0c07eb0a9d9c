/**
 * Stage apply: ONE PostgreSQL transaction per batch — lock the partition's offset row
 * (refence when another member moved it), the flow's `apply`, the DLQ index claims, the
 * outputs and DLQ records as outbox rows, the ledger, the next offset, COMMIT. No Kafka
 * I/O in here: the outbox relay publishes after COMMIT (stage emit, outbox.ts).
 *
 * When PostgreSQL refuses a VALUE (SQLSTATE class 22 or 23: a NUL byte, a timestamp out
 * of range, a constraint) the transaction is rolled back and the batch runs again
 * bisecting it under savepoints — halves, down to single records, each prepared again —
 * so exactly the refused records go to the DLQ with the database's reason.
 *
 * `applyBatch` is also what the database-alone benchmark runs (`runBatchInDatabase`):
 * the same SQL per batch as the runner, without Kafka.
 */
import type pg from 'pg';
import { databaseError, isRecordFault } from '../../../errors/index.js';
import { withTransaction } from '../../../db/index.js';
import type { TopicNames } from '../../../kafka/index.js';
import type { AvroCodec } from '../../../registry/index.js';
import { dlqIndexEntry, identityOf, toDlqMessage } from '../dlq.js';
import { claimDlqEntries } from '../dlq-index.js';
import { EMPTY_COUNTS, addCounts, addToLedger, countBy, isBalanced, type LedgerCounts } from '../ledger.js';
import { lockNextOffset, readNextOffset, storeNextOffset, type PartitionRef } from '../offsets.js';
import { writeOutbox, type OutboxMessage } from '../outbox.js';
import type { DlqEntry, Flow, FlowContext, InboundRecord, OutputRecord } from '../types.js';
import { prepareBatch, type Prepared } from './prepare.js';
import { Bisect, Refence, guard } from './tolerance.js';

export interface ApplyDeps {
  pool: pg.Pool;
  codec: AvroCodec;
  topics: TopicNames;
  flow: Flow<any>;
  context: FlowContext;
  groupId: string;
  clientId: string;
  /**
   * Where a batch's outputs and DLQ records go inside its transaction: the outbox
   * (`writeOutbox`, the default). The benchmark injects a Kafka produce here to measure
   * the runner as it was before the outbox (issue 14's "before and after").
   */
  recordOutgoing?: (db: pg.PoolClient, sourceGroup: string, messages: readonly OutboxMessage[]) => Promise<void>;
}

export interface Applied {
  written: Map<string, number>;
  skipped: Map<string, number>;
  outputs: OutputRecord[];
  /** The flow's DLQ entries and the records PostgreSQL refused (found by bisection). */
  flowDlq: DlqEntry[];
}

export interface BatchOutcome {
  written: number;
  skipped: number;
  /** New DLQ records (queued in the outbox). */
  dlq: DlqEntry[];
  /** Already in the DLQ for the same reason at this version: not sent again, counted as skipped. */
  repeats: DlqEntry[];
  /** Tenants whose counts did not balance (written + skipped + dlq != received). */
  imbalanced: { tenantId: string; counts: LedgerCounts }[];
  outputs: number;
}

export interface ApplyOptions {
  ref: PartitionRef;
  /** The offset this member read as stored (null: never consumed); a different locked value → Refence. */
  stored: string | null;
  nextOffset: string;
  attempts: number;
  bisect: boolean;
  /** Throws (Abandon) when the batch is no longer ours. */
  checkpoint: () => void;
}

export async function applyBatch(deps: ApplyDeps, prepared: Prepared, o: ApplyOptions): Promise<BatchOutcome> {
  const { groupId, context } = deps;
  const counts = new Map<string, LedgerCounts>();
  const count = (tenantId: string, c: Partial<LedgerCounts>) => counts.set(tenantId, addCounts(counts.get(tenantId) ?? EMPTY_COUNTS, c));
  const outcome: BatchOutcome = { written: 0, skipped: 0, dlq: [], repeats: [], imbalanced: [], outputs: 0 };
  await withTransaction(deps.pool, async (db) => {
    const locked = await lockNextOffset(db, o.ref);
    if (locked !== (o.stored ?? '0')) throw new Refence();
    // One apply per batch, all tenants together: the sinks take their row locks in one
    // global order (tenant first), so concurrent batches cannot deadlock on shared rows.
    const result: Applied = prepared.received.size === 0 ? { written: new Map(), skipped: new Map(), outputs: [], flowDlq: prepared.flowDlq } : await applyIsolating(deps, db, prepared, o.bisect);
    // The DLQ is idempotent (dlq_entries): a record already there for the same reason at
    // the same version is not sent again, and counts as skipped, not as a new DLQ record.
    const candidates = [...prepared.dlq, ...result.flowDlq];
    const fresh = await claimDlqEntries(db, candidates.map((entry) => dlqIndexEntry(entry, groupId)));
    const isNew = new Map(candidates.map((entry, i) => [entry, fresh[i]!]));
    outcome.dlq = candidates.filter((entry) => isNew.get(entry));
    outcome.repeats = candidates.filter((entry) => !isNew.get(entry));
    const tenantOf = (entry: DlqEntry) => identityOf(entry.record).tenantId;
    for (const entry of prepared.dlq) count(tenantOf(entry), isNew.get(entry) ? { received: 1, dlq: 1 } : { received: 1, skipped: 1 });
    outcome.skipped += prepared.dlq.filter((entry) => !isNew.get(entry)).length;
    const flowDlq = countBy(result.flowDlq.filter((entry) => isNew.get(entry)), tenantOf);
    const flowRepeats = countBy(result.flowDlq.filter((entry) => !isNew.get(entry)), tenantOf);
    for (const [tenantId, received] of prepared.received) {
      const c = { received, written: result.written.get(tenantId) ?? 0, skipped: (result.skipped.get(tenantId) ?? 0) + (flowRepeats.get(tenantId) ?? 0), dlq: flowDlq.get(tenantId) ?? 0 };
      if (!isBalanced(c)) outcome.imbalanced.push({ tenantId, counts: c });
      count(tenantId, c);
      outcome.written += c.written;
      outcome.skipped += c.skipped;
    }
    const now = context.now();
    const dlqMessages = outcome.dlq.map((entry) => toDlqMessage(entry, { groupId, clientId: deps.clientId, attempts: o.attempts, now }));
    // Recorded, not sent: the relay publishes them after COMMIT (no Kafka round trip under our locks).
    await (deps.recordOutgoing ?? writeOutbox)(db, groupId, [...(await encodeOutputs(deps, result.outputs)), ...dlqMessages.map((message) => ({ kind: 'dlq' as const, topic: deps.topics.dlq, message }))]);
    outcome.outputs = result.outputs.length;
    await addToLedger(db, groupId, counts);
    await storeNextOffset(db, o.ref, o.nextOffset);
    o.checkpoint();
  });
  return outcome;
}

async function encodeOutputs(deps: ApplyDeps, outputs: readonly OutputRecord[]): Promise<OutboxMessage[]> {
  const encoded: OutboxMessage[] = [];
  for (const o of outputs) encoded.push({ kind: 'output', topic: deps.topics[o.kind], message: { key: o.key, value: o.value === null ? null : await deps.codec.encode(o.kind, o.value) } });
  return encoded;
}

async function applyIsolating(deps: ApplyDeps, db: pg.PoolClient, prepared: Prepared, bisect: boolean): Promise<Applied> {
  if (!bisect) {
    // The usual case costs no savepoint: a refused value aborts this transaction, and the
    // batch runs again in a fresh one that bisects (Bisect, caught by the runner).
    try {
      const result = await guard('apply', () => deps.flow.apply(db, prepared.ready, deps.context));
      return { written: new Map(result.written), skipped: new Map(result.skipped), outputs: [...result.outputs], flowDlq: [...prepared.flowDlq] };
    } catch (err) {
      if (isRecordFault(err)) throw new Bisect(err);
      throw err;
    }
  }
  const acc: Applied = { written: new Map(), skipped: new Map(), outputs: [], flowDlq: [] };
  await applyPart(deps, db, prepared.admitted, { ready: prepared.ready, dlq: prepared.flowDlq }, acc);
  return acc;
}

async function applyPart(deps: ApplyDeps, db: pg.PoolClient, records: InboundRecord[], part: { ready: unknown; dlq: DlqEntry[] } | undefined, acc: Applied): Promise<void> {
  part ??= await guard('prepare', () => deps.flow.prepare(records, deps.context));
  await db.query('SAVEPOINT isolate');
  let result: Awaited<ReturnType<Flow['apply']>>;
  try {
    result = await guard('apply', () => deps.flow.apply(db, part.ready, deps.context));
  } catch (err) {
    if (!isRecordFault(err)) throw err;
    await db.query('ROLLBACK TO SAVEPOINT isolate');
    await db.query('RELEASE SAVEPOINT isolate');
    const refused = part.dlq.map((entry) => entry.record);
    const handed = records.filter((r) => !refused.includes(r));
    if (handed.length <= 1) {
      acc.flowDlq.push(...part.dlq);
      for (const record of handed) acc.flowDlq.push({ record, error: databaseError(err, 'sink', { tenantId: identityOf(record).tenantId, acmeId: identityOf(record).acmeId }) });
      return;
    }
    const half = Math.ceil(records.length / 2);
    for (const slice of [records.slice(0, half), records.slice(half)]) await applyPart(deps, db, slice, undefined, acc);
    return;
  }
  await db.query('RELEASE SAVEPOINT isolate');
  for (const [tenantId, n] of result.written) acc.written.set(tenantId, (acc.written.get(tenantId) ?? 0) + n);
  for (const [tenantId, n] of result.skipped) acc.skipped.set(tenantId, (acc.skipped.get(tenantId) ?? 0) + n);
  acc.outputs.push(...result.outputs);
  acc.flowDlq.push(...part.dlq);
}

/**
 * The runner's per-batch database work without Kafka, for the database-alone benchmark:
 * prepare (records already decoded) and apply — offset lock and store, the flow's reads,
 * locks and writes, DLQ claims, outbox rows, ledger — exactly the SQL the runner runs.
 * Records are of one topic-partition, in offset order; the stored offset is read as the
 * runner reads it (once, then kept by the caller through `stored`).
 */
export async function runBatchInDatabase(deps: ApplyDeps, records: readonly InboundRecord[], stored?: string | null): Promise<BatchOutcome & { nextOffset: string }> {
  const first = records[0];
  if (first === undefined) throw new Error('runBatchInDatabase: an empty batch');
  const ref: PartitionRef = { groupId: deps.groupId, topic: first.topic, partition: first.partition };
  const known = stored === undefined ? await readNextOffset(deps.pool, ref) : stored;
  const nextOffset = (BigInt(records.at(-1)!.offset) + 1n).toString();
  const prepared = await prepareBatch(deps, records, [], true);
  for (let bisect = false; ; bisect = true) {
    try {
      return { ...(await applyBatch(deps, prepared, { ref, stored: known, nextOffset, attempts: 1, bisect, checkpoint: () => undefined })), nextOffset };
    } catch (err) {
      if (!(err instanceof Bisect) || bisect) throw err;
    }
  }
}

/**
 * The consumer runner: one kafkajs consumer group per flow, `eachBatch` per
 * partition, and one PostgreSQL transaction per batch that holds the flow's writes,
 * the outputs and DLQ records (as outbox rows), the ledger and the next offset. The
 * outbox relay (outbox.ts) publishes them after COMMIT: no Kafka round trip is made while
 * the batch holds its offset and sink row locks (issue 14).
 *
 *  - Offsets: PostgreSQL is the source of truth. Before the first batch of a partition
 *    in a generation we compare with the stored offset and seek back when Kafka's
 *    committed position is ahead of it; records below the stored offset are skipped
 *    (fencing under the row lock, kafkajs#1046). Kafka commits afterwards are only
 *    informational (lag tools).
 *  - Poison records (DecodeError, unknown tenant, what the flow returns) go to the DLQ
 *    and consumption goes on; so do records PostgreSQL refuses for a VALUE (SQLSTATE
 *    class 22/23), found by bisecting the batch under savepoints (applyIsolating), and
 *    records an operator skipped (`acme-sync dlq skip`, table dlq_skips). The DLQ is
 *    idempotent: a record is queued for it only when this transaction inserted its
 *    dlq_entries row (same record, version and reason = one DLQ record).
 *  - Transient failures (PostgreSQL, registry, Acme, Kafka down, timeouts) retry the
 *    whole batch with the shared jittered backoff, forever, with the partition paused
 *    and heartbeats flowing; never DLQ, never skip.
 *  - Programmer errors (TypeError, SQL that PostgreSQL refuses as such — class 42 —,
 *    anything non-retriable a flow THROWS instead of returning per record) stop the runner: `done` rejects and the
 *    process exits non-zero. A bug is not a property of one record: sending it to the
 *    DLQ would drain the whole topic into the DLQ during a bad deploy, while stopping
 *    loses nothing (the offset has not moved) and a fixed build resumes where it
 *    stopped. Kafka Connect's default errors.tolerance=none makes the same choice for
 *    unexpected failures; only the stages that can judge one record (decode, validate,
 *    enrich) are tolerant.
 */
import { hostname } from 'node:os';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
import type pg from 'pg';
import { AcmeSyncError, DecodeError, ERROR_CODES, PermanentError, databaseError, isRecordFault, isRetriable } from '../../errors/index.js';
import { withTransaction } from '../../db/index.js';
import { createProducer, type TopicKind, type TopicNames } from '../../kafka/index.js';
import type { Logger } from '../../logger.js';
import type { Registry } from '../../metrics/index.js';
import { createFreshnessMetrics, type SyncedEvent } from '../../metrics/freshness.js';
import { kafkaUnavailable } from '../../producers/publisher.js';
import { createOutboxRelay, writeOutbox, type OutboxMessage, type OutboxRelay } from './outbox.js';
import type { AvroCodec } from '../../registry/index.js';
import { retry, systemClock, type Clock, type RetryOptions } from '../../retry/index.js';
import { dlqIndexEntry, identityOf, schemaIdOrUnknown, toDlqMessage } from './dlq.js';
import { claimDlqEntries } from './dlq-index.js';
import { readSkips, skippedEntry, type Skip } from './skips.js';
import { EMPTY_COUNTS, addCounts, addToLedger, countBy, isBalanced, type LedgerCounts } from './ledger.js';
import { createConsumerMetrics, type ConsumerMetrics } from './metrics.js';
import { isBelow, lockNextOffset, readNextOffset, storeNextOffset, type PartitionRef } from './offsets.js';
import type { DlqEntry, Flow, FlowContext, InboundRecord, OutputRecord } from './types.js';

export interface RunnerOptions {
  kafka: Kafka;
  pool: pg.Pool;
  codec: AvroCodec;
  topics: TopicNames;
  flow: Flow<any>;
  groupId: string;
  context: FlowContext;
  logger: Logger;
  metrics: Registry;
  /** Shared producer for outputs and the DLQ; the runner creates (and owns) one when absent. */
  producer?: Producer;
  /**
   * The outbox relay that publishes this runner's committed outputs and DLQ records
   * (shared by the runners of a process); the runner creates (and owns) one when absent.
   */
  relay?: OutboxRelay;
  clientId?: string;
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  maxBytesPerPartition?: number;
  /**
   * Kafka fetch.max.wait.ms. A stop waits for the fetch in flight, which waits this long
   * when there is no new data: kafkajs' default of 5 s held SIGTERM for that long.
   */
  maxWaitTimeMs?: number;
  /** Backoff of batch retries after transient failures (they retry without limit). */
  retry?: Partial<Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'factor' | 'random'>>;
}

export interface ConsumerRunner {
  readonly groupId: string;
  start(): Promise<void>;
  /** Finish the batch in hand, then leave the group and disconnect. */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects when the runner gave up (the process should exit non-zero). */
  readonly done: Promise<void>;
  /** Joined the group and not stopped: for /readyz. */
  isReady(): boolean;
}

/** Thrown inside a batch to abandon it without side effects (stop, lost partition). */
class Abandon extends Error {}
/** The stored offset moved between our read and the lock: prepare again on fresh ground. */
class Refence extends Error {}
/** PostgreSQL refused a value of the batch: run it again in a fresh transaction that bisects it. */
class Bisect extends Error {
  constructor(cause: unknown) {
    super('bisect', { cause });
  }
}

interface Prepared {
  /** Every live record, decoded where it could be (for end-to-end latency and freshness). */
  records: InboundRecord[];
  dlq: DlqEntry[];
  /** The flow's prepared batch (all tenants) and the records it sends to the DLQ. */
  ready: unknown;
  flowDlq: DlqEntry[];
  /** Per tenant, the records handed to the flow. */
  received: Map<string, number>;
  /** The records handed to the flow (decoded, of known tenants), in offset order. */
  admitted: InboundRecord[];
}

export function createConsumerRunner(options: RunnerOptions): ConsumerRunner {
  const { flow, groupId, logger, pool, codec, topics, context } = options;
  const log = logger.child({ flow: flow.name, groupId });
  const metrics: ConsumerMetrics = createConsumerMetrics(options.metrics);
  const freshness = createFreshnessMetrics(options.metrics);
  // From the start, so the first imbalance is an increase to Prometheus (and the alert's series exists).
  metrics.ledgerImbalance.inc({ flow: flow.name }, 0);
  const clientId = options.clientId ?? `${groupId}-${hostname()}-${process.pid}`;
  const kindOf = new Map<string, TopicKind>(Object.entries(topics).map(([kind, name]) => [name, kind as TopicKind]));
  const ownsProducer = options.producer === undefined;
  const producer = options.producer ?? createProducer(options.kafka);
  const ownsRelay = options.relay === undefined;
  const relay = options.relay ?? createOutboxRelay({ pool, producer, logger: log, metrics: options.metrics });
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const consumer: Consumer = options.kafka.consumer({
    groupId,
    sessionTimeout,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    rebalanceTimeout: sessionTimeout * 2,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
    allowAutoTopicCreation: false,
  });
  const stopping = new AbortController();
  const positioned = new Set<string>();
  /** Operator skips by `topic:partition`, then offset. */
  const skips = new Map<string, Map<string, Skip>>();
  /**
   * The next offset this member last read or stored in PostgreSQL, by `topic:partition`,
   * within the current generation: saves a read per batch. Only a hint — the locked
   * read inside the transaction decides, and a mismatch (another member moved it)
   * drops the hint and prepares again (Refence).
   */
  const storedOffsets = new Map<string, string | null>();
  const kafkaCommits = createCommitCoalescer((offsets) => consumer.commitOffsets(offsets), (err) => log.debug({ err }, 'Kafka offset commit failed (informational)'));
  /** Lag series this runner set, by `topic:partition`. */
  const lagSeries = new Map<string, { flow: string; topic: string; partition: string }>();
  let joined = false;
  let stopped = false;
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined);

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // A new generation: every partition's position is checked against PostgreSQL again.
    positioned.clear();
    storedOffsets.clear();
    // A partition now owned by another member must not keep reporting its last lag from here.
    const assignment = payload.memberAssignment as Record<string, number[] | undefined>;
    for (const [key, labels] of lagSeries) {
      const at = key.lastIndexOf(':');
      if (assignment[key.slice(0, at)]?.includes(Number(key.slice(at + 1)))) continue;
      metrics.lag.remove(labels);
      lagSeries.delete(key);
    }
    joined = true;
    log.info({ assignment: payload.memberAssignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return log.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
    fail(payload.error);
  });

  function fail(err: unknown): void {
    if (stopped) return;
    stopped = true;
    joined = false;
    log.fatal({ err }, 'consumer runner gave up');
    stopping.abort(new Abandon('runner failed'));
    void consumer.disconnect().catch(() => undefined).finally(() => (ownsRelay ? relay.stop(0) : undefined)).finally(() => (ownsProducer ? producer.disconnect().catch(() => undefined) : undefined)).finally(() => settle.reject(err));
  }

  // -- one batch -------------------------------------------------------------

  function toInbound(topic: string, partition: number, m: KafkaMessage): InboundRecord {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
    return {
      topic, kind: kindOf.get(topic)!, partition, offset: m.offset, key: m.key?.toString('utf8') ?? null, value: null,
      schemaId: schemaIdOrUnknown(m.value), headers, timestamp: Number(m.timestamp), raw: m.value,
    };
  }

  /** Decode and check the tenant; transient failures throw. */
  async function admit(records: InboundRecord[]): Promise<{ ok: InboundRecord[]; dlq: DlqEntry[] }> {
    const ok: InboundRecord[] = [];
    const dlq: DlqEntry[] = [];
    for (const record of records) {
      try {
        const decoded = await codec.decode(record.raw);
        const admitted = { ...record, value: decoded.value, schemaId: decoded.schemaId };
        const tenantId = identityOf(admitted).tenantId;
        if ((await context.tenants.get(tenantId)) === undefined) {
          dlq.push({ record: admitted, error: new PermanentError(`Unknown tenant ${JSON.stringify(tenantId)}`, { code: ERROR_CODES.UNKNOWN_TENANT, stage: 'validate', context: { tenantId } }) });
        } else ok.push(admitted);
      } catch (err) {
        if (err instanceof DecodeError) dlq.push({ record, error: err.atStage('decode') });
        else throw err;
      }
    }
    return { ok, dlq };
  }

  async function prepare(records: InboundRecord[]): Promise<Prepared> {
    const admitted = await admit(records);
    const { ready, dlq } = admitted.ok.length === 0 ? { ready: undefined, dlq: [] } : await guard(() => flow.prepare(admitted.ok, context));
    return {
      records: [...admitted.ok, ...admitted.dlq.map((entry) => entry.record)], dlq: admitted.dlq,
      ready, flowDlq: dlq, received: countBy(admitted.ok, (r) => identityOf(r).tenantId), admitted: admitted.ok,
    };
  }

  /** Transient failures pass through (retry); anything else a flow throws is a bug. */
  async function guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Abandon || err instanceof Refence || err instanceof Bisect || isRetriable(err) || isRecordFault(err)) throw err;
      throw new Fatal(err);
    }
  }

  interface Applied {
    written: Map<string, number>;
    skipped: Map<string, number>;
    outputs: OutputRecord[];
    /** The flow's DLQ entries and the records PostgreSQL refused (found by bisection). */
    flowDlq: DlqEntry[];
  }

  /**
   * flow.apply for the whole batch; when PostgreSQL refuses a VALUE (SQLSTATE class 22 or
   * 23: a NUL byte, a timestamp out of range, a constraint), the transaction is rolled
   * back and the batch runs again (`bisect`) under savepoints — halves, down to single
   * records, each prepared again — so exactly the refused records go to the DLQ with the
   * database's reason and every other record is written once, in that transaction with
   * the offsets. Any other failure passes through (transient: the batch is retried; a
   * bug: the runner stops).
   */
  async function applyIsolating(db: pg.PoolClient, prepared: Prepared, bisect: boolean): Promise<Applied> {
    if (!bisect) {
      // The usual case costs no savepoint: a refused value aborts this transaction, and the
      // batch runs again in a fresh one that bisects (Bisect, caught in eachBatch).
      try {
        const result = await guard(() => flow.apply(db, prepared.ready, context));
        return { written: new Map(result.written), skipped: new Map(result.skipped), outputs: [...result.outputs], flowDlq: [...prepared.flowDlq] };
      } catch (err) {
        if (isRecordFault(err)) throw new Bisect(err);
        throw err;
      }
    }
    const acc: Applied = { written: new Map(), skipped: new Map(), outputs: [], flowDlq: [] };
    await applyPart(db, prepared.admitted, { ready: prepared.ready, dlq: prepared.flowDlq }, acc);
    return acc;
  }

  async function applyPart(db: pg.PoolClient, records: InboundRecord[], part: { ready: unknown; dlq: DlqEntry[] } | undefined, acc: Applied): Promise<void> {
    part ??= await guard(() => flow.prepare(records, context));
    await db.query('SAVEPOINT isolate');
    let result: Awaited<ReturnType<Flow['apply']>>;
    try {
      result = await guard(() => flow.apply(db, part.ready, context));
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
      for (const slice of [records.slice(0, half), records.slice(half)]) await applyPart(db, slice, undefined, acc);
      return;
    }
    await db.query('RELEASE SAVEPOINT isolate');
    for (const [tenantId, n] of result.written) acc.written.set(tenantId, (acc.written.get(tenantId) ?? 0) + n);
    for (const [tenantId, n] of result.skipped) acc.skipped.set(tenantId, (acc.skipped.get(tenantId) ?? 0) + n);
    acc.outputs.push(...result.outputs);
    acc.flowDlq.push(...part.dlq);
  }

  async function encodeOutputs(outputs: readonly OutputRecord[]): Promise<OutboxMessage[]> {
    const encoded: OutboxMessage[] = [];
    for (const o of outputs) encoded.push({ kind: 'output', topic: topics[o.kind], message: { key: o.key, value: o.value === null ? null : await codec.encode(o.kind, o.value) } });
    return encoded;
  }

  async function processOnce(payload: EachBatchPayload, attempts: number, checkpoint: () => void, bisect: boolean): Promise<void> {
    const { batch } = payload;
    const ref: PartitionRef = { groupId, topic: batch.topic, partition: batch.partition };
    const key = `${batch.topic}:${batch.partition}`;
    const stored = storedOffsets.has(key) ? storedOffsets.get(key)! : await readNextOffset(pool, ref);
    storedOffsets.set(key, stored);
    // Operator skips (acme-sync dlq skip): loaded once per generation, and again before a
    // retry, so a runner stopped or stuck on a record picks up the skip.
    if (!positioned.has(key) || attempts > 1) skips.set(key, await readSkips(pool, batch.topic, batch.partition, stored));
    if (!positioned.has(key)) {
      positioned.add(key);
      // Kafka's committed position is ahead of PostgreSQL's (a commit that outran a lost
      // transaction, or a restored database): PostgreSQL wins.
      if (stored !== null && BigInt(stored) < BigInt(batch.firstOffset()!)) {
        log.warn({ topic: batch.topic, partition: batch.partition, stored, kafka: batch.firstOffset() }, 'seeking back to the offset stored in PostgreSQL');
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: stored });
        throw new Abandon('seek');
      }
    }
    const all = batch.messages.map((m) => toInbound(batch.topic, batch.partition, m));
    const live = all.filter((r) => !isBelow(r.offset, stored));
    const lastOffset = batch.lastOffset();
    const nextOffset = (BigInt(lastOffset) + 1n).toString();
    const fenced = all.length - live.length;
    metrics.records.inc({ flow: flow.name, topic: kindOf.get(batch.topic) ?? 'appointments', outcome: 'fenced' }, fenced);
    if (live.length === 0) return;
    const skipsHere = skips.get(key);
    const toSkip = skipsHere === undefined || skipsHere.size === 0 ? [] : live.filter((r) => skipsHere.has(r.offset));
    const prepared = await prepare(toSkip.length === 0 ? live : live.filter((r) => !skipsHere!.has(r.offset)));
    if (toSkip.length > 0) {
      const entries = toSkip.map((r) => skippedEntry(r, skipsHere!.get(r.offset)!));
      prepared.dlq.push(...entries);
      prepared.records.push(...entries.map((e) => e.record));
    }
    checkpoint();

    const started = performance.now();
    const counts = new Map<string, LedgerCounts>();
    const count = (tenantId: string, c: Partial<LedgerCounts>) => counts.set(tenantId, addCounts(counts.get(tenantId) ?? EMPTY_COUNTS, c));
    let written = 0;
    let skipped = 0;
    let dlq: DlqEntry[] = [];
    let repeats: DlqEntry[] = [];

    await withTransaction(pool, async (db) => {
      const locked = await lockNextOffset(db, ref);
      if (locked !== (stored ?? '0')) {
        storedOffsets.delete(key);
        throw new Refence();
      }
      // One apply per batch, all tenants together: the sinks take their row locks in one
      // global order (tenant first), so concurrent batches cannot deadlock on shared rows.
      const result = prepared.received.size === 0 ? { written: new Map(), skipped: new Map(), outputs: [], flowDlq: prepared.flowDlq } : await applyIsolating(db, prepared, bisect);
      // The DLQ is idempotent (dlq_entries): a record already there for the same reason at
      // the same version is not sent again, and counts as skipped, not as a new DLQ record.
      const candidates = [...prepared.dlq, ...result.flowDlq];
      const fresh = await claimDlqEntries(db, candidates.map((entry) => dlqIndexEntry(entry, groupId)));
      const isNew = new Map(candidates.map((entry, i) => [entry, fresh[i]!]));
      dlq = candidates.filter((entry) => isNew.get(entry));
      repeats = candidates.filter((entry) => !isNew.get(entry));
      const tenantOf = (entry: DlqEntry) => identityOf(entry.record).tenantId;
      // Records the runner judged itself (undecodable, unknown tenant, operator skip): a ledger line each.
      for (const entry of prepared.dlq) count(tenantOf(entry), isNew.get(entry) ? { received: 1, dlq: 1 } : { received: 1, skipped: 1 });
      skipped += prepared.dlq.filter((entry) => !isNew.get(entry)).length;
      // The flow's records: what its sinks wrote and skipped, its new DLQ records, and its repeats as skipped.
      const flowDlq = countBy(result.flowDlq.filter((entry) => isNew.get(entry)), tenantOf);
      const flowRepeats = countBy(result.flowDlq.filter((entry) => !isNew.get(entry)), tenantOf);
      for (const [tenantId, received] of prepared.received) {
        const tenantCounts = {
          received, written: result.written.get(tenantId) ?? 0, skipped: (result.skipped.get(tenantId) ?? 0) + (flowRepeats.get(tenantId) ?? 0), dlq: flowDlq.get(tenantId) ?? 0,
        };
        if (!isBalanced(tenantCounts)) {
          metrics.ledgerImbalance.inc({ flow: flow.name });
          log.error({ tenantId, ...tenantCounts }, 'flow outcome does not balance: written + skipped + dlq != received');
        }
        count(tenantId, tenantCounts);
        written += tenantCounts.written;
        skipped += tenantCounts.skipped;
      }
      const outputs: readonly OutputRecord[] = result.outputs;
      const now = context.now();
      const dlqMessages = dlq.map((entry) => toDlqMessage(entry, { groupId, clientId, attempts, now }));
      // Recorded, not sent: the relay publishes them after COMMIT (no Kafka round trip under our locks).
      await writeOutbox(db, groupId, [...(await encodeOutputs(outputs)), ...dlqMessages.map((message) => ({ kind: 'dlq' as const, topic: topics.dlq, message }))]);
      await addToLedger(db, groupId, counts);
      await storeNextOffset(db, ref, nextOffset);
      checkpoint();
    });
    storedOffsets.set(key, nextOffset);
    relay.wake();
    metrics.dbWriteSeconds.observe({ flow: flow.name }, (performance.now() - started) / 1000);

    const kind = kindOf.get(batch.topic) ?? 'appointments';
    metrics.records.inc({ flow: flow.name, topic: kind, outcome: 'written' }, written);
    metrics.records.inc({ flow: flow.name, topic: kind, outcome: 'skipped' }, skipped);
    metrics.records.inc({ flow: flow.name, topic: kind, outcome: 'dlq' }, dlq.length);
    for (const entry of dlq) {
      metrics.dlq.inc({ flow: flow.name, topic: entry.record.kind, stage: entry.error.stage ?? 'transform', code: entry.error.code });
      log.warn({ err: entry.error, topic: entry.record.topic, partition: entry.record.partition, offset: entry.record.offset, correlationId: correlationIdOf(entry.record) }, 'record sent to the DLQ');
    }
    for (const entry of repeats) log.debug({ code: entry.error.code, topic: entry.record.topic, offset: entry.record.offset }, 'record already in the DLQ for the same reason at this version; not sent again');
    const now = context.now();
    for (const r of prepared.records) {
      const receivedAt = (r.value as { received_at?: unknown } | null)?.received_at;
      if (typeof receivedAt === 'number') metrics.endToEndSeconds.observe({ flow: flow.name, topic: kind }, Math.max(0, now - receivedAt) / 1000);
    }
    const dead = new Set([...dlq, ...repeats].map((entry) => entry.record.offset));
    freshness.synced(flow.name, prepared.records.filter((r) => !dead.has(r.offset)).map((r) => r.value as SyncedEvent | null));
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.isEmpty() || stopped) return;
    const started = performance.now();
    let resume: (() => void) | undefined;
    let lost = false;
    // Heartbeat while we work: a slow Acme call or a long retry must not let the
    // session expire. A rebalance surfaces here; we finish nothing more after it.
    const ticker = setInterval(() => {
      payload.heartbeat().catch((err: unknown) => {
        lost = true;
        log.info({ err, topic: batch.topic, partition: batch.partition }, 'heartbeat failed; abandoning the batch');
      });
    }, Math.max(500, Math.floor((options.heartbeatIntervalMs ?? 3_000) / 2)));
    const checkpoint = () => {
      // Not isRunning(): on a graceful stop the batch in hand is finished, not dropped.
      if (lost || payload.isStale()) throw new Abandon('batch no longer ours');
    };
    const clock: Clock = { now: systemClock.now, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
    let attempts = 0;
    try {
      await retry(
        async () => {
          checkpoint();
          let bisect = false;
          for (let refences = 0; ; refences++) {
            attempts++;
            try {
              return await processOnce(payload, attempts, checkpoint, bisect);
            } catch (err) {
              if (err instanceof Bisect && !bisect) {
                log.info({ err: err.cause, topic: batch.topic, partition: batch.partition }, 'PostgreSQL refused a value; bisecting the batch to find the record');
                bisect = true;
                continue;
              }
              if (!(err instanceof Refence) || refences >= 10) throw err instanceof Bisect ? new Fatal(err.cause) : err;
            }
          }
        },
        {
          retries: Infinity, deadlineMs: Infinity, initialDelayMs: 200, maxDelayMs: 10_000, ...options.retry, clock, signal: stopping.signal,
          isRetriable: (err) => !(err instanceof Abandon) && !(err instanceof Fatal) && (err instanceof Refence || isRetriable(err)),
          onRetry: ({ error, delayMs, attempt }) => {
            const e = retryFailureOf(error);
            metrics.retries.inc({ flow: flow.name, code: e.code });
            log.warn({ err: e, attempt, delayMs, topic: batch.topic, partition: batch.partition }, 'transient failure; retrying the batch');
            if (resume === undefined) resume = payload.pause();
          },
        },
      );
      payload.resolveOffset(batch.lastOffset());
      metrics.batchSeconds.observe({ flow: flow.name }, (performance.now() - started) / 1000);
      const lagLabels = { flow: flow.name, topic: kindOf.get(batch.topic) ?? batch.topic, partition: String(batch.partition) };
      lagSeries.set(`${batch.topic}:${batch.partition}`, lagLabels);
      metrics.lag.set(lagLabels, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n)));
      // Informational only (lag tools): PostgreSQL holds the offsets that count. Not
      // awaited — a commit round trip per batch was the largest fixed cost of a small
      // batch (found by npm run bench) — and coalesced: one request in flight at a time.
      kafkaCommits.commit(batch.topic, batch.partition, (BigInt(batch.lastOffset()) + 1n).toString());
    } catch (err) {
      if (err instanceof Abandon || stopping.signal.aborted || lost) return;
      // Transient failures never get here (they retry without limit): this is a bug.
      return fail(err instanceof Fatal ? err.cause : err);
    } finally {
      clearInterval(ticker);
      resume?.();
    }
  }

  return {
    groupId,
    async start() {
      if (ownsProducer) await producer.connect();
      if (ownsRelay) relay.start();
      await consumer.connect();
      await consumer.subscribe({ topics: flow.inputs.map((k) => topics[k]), fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 3, eachBatch }).catch((err: unknown) => {
        fail(err);
        throw err;
      });
      log.info({ inputs: flow.inputs }, 'consumer runner started');
    },
    async stop() {
      if (stopped) return done.catch(() => undefined);
      stopped = true;
      joined = false;
      stopping.abort(new Abandon('stopping'));
      // Cancel retry waits (an outage must not hold the shutdown); a batch that is
      // working finishes: disconnect() waits for the batch in hand to finish (kafkajs), then leaves the group.
      // The last informational commit may go out, but an unreachable broker must not hold the shutdown.
      await Promise.race([kafkaCommits.flush(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await consumer.disconnect();
      if (ownsRelay) await relay.stop();
      if (ownsProducer) await producer.disconnect();
      settle.resolve();
    },
    done,
    isReady: () => joined && !stopped,
  };
}

type CommitOffsets = (offsets: { topic: string; partition: number; offset: string }[]) => Promise<unknown>;

/**
 * Kafka offset commits in the background: the newest offset per partition waits while
 * one request is in flight and goes out with the next. Failures are reported, never thrown.
 */
export function createCommitCoalescer(send: CommitOffsets, onError: (err: unknown) => void): { commit(topic: string, partition: number, offset: string): void; flush(): Promise<void> } {
  const pending = new Map<string, { topic: string; partition: number; offset: string }>();
  let inFlight: Promise<void> | undefined;
  const pump = (): void => {
    if (inFlight !== undefined || pending.size === 0) return;
    const offsets = [...pending.values()];
    pending.clear();
    inFlight = send(offsets)
      .then(() => undefined, onError)
      .finally(() => {
        inFlight = undefined;
        pump();
      });
  };
  return {
    commit(topic, partition, offset) {
      pending.set(`${topic}:${partition}`, { topic, partition, offset });
      pump();
    },
    async flush() {
      while (inFlight !== undefined) await inFlight;
    },
  };
}

/** A non-retriable failure that is not a record's fault: stop the runner. */
class Fatal extends Error {
  constructor(cause: unknown) {
    super(`Flow failed with a non-retriable error: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * What a transient batch failure is, for the retries metric and the log: ours are
 * AcmeSyncErrors already (Kafka, registry, Acme), kafkajs' own are Kafka's, and anything
 * else inside the batch's transaction comes from PostgreSQL — classified by SQLSTATE, and
 * a dropped connection (no SQLSTATE: ECONNREFUSED, "Connection terminated") is
 * DATABASE_UNAVAILABLE, never INTERNAL.
 */
export function retryFailureOf(err: unknown): AcmeSyncError {
  if (err instanceof AcmeSyncError) return err.stage === undefined ? err.atStage('sink') : err;
  if (err instanceof Error && err.name.startsWith('KafkaJS')) return kafkaUnavailable(err);
  return databaseError(err, 'sink');
}

/** The webhook-id or poll run that brought a record: its Kafka header, else the event field. */
export function correlationIdOf(record: Pick<InboundRecord, 'headers' | 'value'>): string | undefined {
  const fromValue = (record.value as { correlation_id?: unknown } | null)?.correlation_id;
  return record.headers['correlation-id'] ?? (typeof fromValue === 'string' ? fromValue : undefined);
}

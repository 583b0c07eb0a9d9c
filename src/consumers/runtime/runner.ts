/**
 * The consumer runner: one consumer group per flow (the Kafka port, src/kafka), `eachBatch` per
 * partition, each batch through explicit stages (stages/: decode → admit/fence →
 * prepare → apply → emit, each with its tolerance, stages/tolerance.ts), and one PostgreSQL transaction per batch that holds the flow's writes,
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
 *    whole batch with the shared jittered backoff, with the partition paused and
 *    heartbeats flowing; never DLQ, never skip. Past `stallAfterMs` the partition reports
 *    itself stalled (stages/stall.ts: metric, /readyz, alert) and keeps retrying.
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
import type pg from 'pg';
import { AcmeSyncError, databaseError, isRetriable } from '../../errors/index.js';
import type { BatchControl, GroupConsumer, KafkaClient, KafkaProducer, RecordBatch, TopicKind, TopicNames } from '../../kafka/index.js';
import type { Logger } from '../../logger.js';
import type { Registry } from '../../metrics/index.js';
import { createFreshnessMetrics } from '../../metrics/freshness.js';
import type { AvroCodec } from '../../registry/index.js';
import { retry, systemClock, type Clock, type RetryOptions } from '../../retry/index.js';
import { readSkips, type Skip } from './skips.js';
import { createConsumerMetrics, type ConsumerMetrics } from './metrics.js';
import { readNextOffset, type PartitionRef } from './offsets.js';
import { createOutboxRelay, type OutboxRelay } from './outbox.js';
import { applySkips, fence } from './stages/admit.js';
import { applyBatch, type ApplyDeps } from './stages/apply.js';
import { toInbound } from './stages/decode.js';
import { emit } from './stages/emit.js';
import { prepareBatch } from './stages/prepare.js';
import { createStallWatch } from './stages/stall.js';
import { Abandon, Bisect, Fatal, Refence, judge } from './stages/tolerance.js';
import type { Flow, FlowContext } from './types.js';

export interface RunnerOptions {
  kafka: KafkaClient;
  pool: pg.Pool;
  codec: AvroCodec;
  topics: TopicNames;
  flow: Flow<any>;
  groupId: string;
  context: FlowContext;
  logger: Logger;
  metrics: Registry;
  /** Shared producer for outputs and the DLQ; the runner creates (and owns) one when absent. */
  producer?: KafkaProducer;
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
  /** After this long retrying one batch, the partition reports itself stalled (default 120 s). */
  stallAfterMs?: number;
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
  /** Partitions (`topic:partition`) retrying past the stall deadline: /readyz reports them. */
  stalledPartitions(): string[];
}

export function createConsumerRunner(options: RunnerOptions): ConsumerRunner {
  const { flow, groupId, logger, pool, codec, topics, context } = options;
  const log = logger.child({ flow: flow.name, groupId });
  const metrics: ConsumerMetrics = createConsumerMetrics(options.metrics);
  const freshness = createFreshnessMetrics(options.metrics);
  // From the start, so the first imbalance is an increase to Prometheus (and the alert's series exists).
  metrics.ledgerImbalance.inc({ flow: flow.name }, 0);
  const clientId = options.clientId ?? `${groupId}-${hostname()}-${process.pid}`;
  const kindOf: ReadonlyMap<string, TopicKind> = new Map<string, TopicKind>(Object.entries(topics).map(([kind, name]) => [name, kind as TopicKind]));
  const ownsProducer = options.producer === undefined;
  const producer = options.producer ?? options.kafka.producer();
  const ownsRelay = options.relay === undefined;
  const relay = options.relay ?? createOutboxRelay({ pool, producer, logger: log, metrics: options.metrics });
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const consumer: GroupConsumer = options.kafka.consumer({
    groupId,
    sessionTimeoutMs: sessionTimeout,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    rebalanceTimeoutMs: sessionTimeout * 2,
    maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
    maxWaitTimeMs: options.maxWaitTimeMs ?? 500,
  });
  const stall = createStallWatch(options.metrics, flow.name, options.stallAfterMs ?? 120_000);
  const applyDeps: ApplyDeps = { pool, codec, topics, flow, context, groupId, clientId };
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

  consumer.onAssignment((memberAssignment) => {
    // A new generation: every partition's position is checked against PostgreSQL again.
    positioned.clear();
    storedOffsets.clear();
    // A partition now owned by another member must not keep reporting its last lag from here.
    const assignment = memberAssignment as Record<string, number[] | undefined>;
    for (const [key, labels] of lagSeries) {
      const at = key.lastIndexOf(':');
      if (assignment[key.slice(0, at)]?.includes(Number(key.slice(at + 1)))) continue;
      metrics.lag.remove(labels);
      lagSeries.delete(key);
      stall.forget(key);
    }
    joined = true;
    log.info({ assignment: memberAssignment }, 'joined consumer group');
  });
  consumer.onCrash((err, willRestart) => {
    if (willRestart) return log.warn({ err }, 'consumer crashed; the Kafka client restarts it');
    fail(err);
  });

  function fail(err: unknown): void {
    if (stopped) return;
    stopped = true;
    joined = false;
    log.fatal({ err }, 'consumer runner gave up');
    stopping.abort(new Abandon('runner failed'));
    void consumer.disconnect().catch(() => undefined).finally(() => (ownsRelay ? relay.stop(0) : undefined)).finally(() => (ownsProducer ? producer.disconnect().catch(() => undefined) : undefined)).finally(() => settle.reject(err));
  }

  async function processOnce(batch: RecordBatch, attempts: number, checkpoint: () => void, bisect: boolean): Promise<void> {
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
      if (stored !== null && BigInt(stored) < BigInt(batch.firstOffset)) {
        log.warn({ topic: batch.topic, partition: batch.partition, stored, kafka: batch.firstOffset }, 'seeking back to the offset stored in PostgreSQL');
        consumer.seek(batch.topic, batch.partition, stored);
        throw new Abandon('seek');
      }
    }
    const kind = kindOf.get(batch.topic) ?? 'appointments';
    // Stage admit/fence (fencing under the row lock happens again in apply: Refence).
    const { live, fenced } = fence(batch.records.map((m) => toInbound(kindOf, batch.topic, batch.partition, m)), stored);
    metrics.records.inc({ flow: flow.name, topic: kind, outcome: 'fenced' }, fenced);
    if (live.length === 0) return;
    const { kept, skipped } = applySkips(live, skips.get(key));
    // Stages decode, admit (tenants), prepare: outside any transaction.
    const prepared = await prepareBatch(applyDeps, kept, skipped);
    checkpoint();
    // Stage apply: one transaction, no Kafka I/O.
    const started = performance.now();
    const nextOffset = (BigInt(batch.lastOffset) + 1n).toString();
    let outcome;
    try {
      outcome = await applyBatch(applyDeps, prepared, { ref, stored, nextOffset, attempts, bisect, checkpoint });
    } catch (err) {
      if (err instanceof Refence) storedOffsets.delete(key);
      throw err;
    }
    storedOffsets.set(key, nextOffset);
    metrics.dbWriteSeconds.observe({ flow: flow.name }, (performance.now() - started) / 1000);
    // Stage emit: the relay publishes; we report.
    emit({ flow: flow.name, relay, metrics, freshness, log, now: context.now }, kind, prepared.records, outcome);
  }

  async function eachBatch(batch: RecordBatch, control: BatchControl): Promise<void> {
    if (stopped) return;
    const started = performance.now();
    let resume: (() => void) | undefined;
    let lost = false;
    // Heartbeat while we work: a slow Acme call or a long retry must not let the
    // session expire. A rebalance surfaces here; we finish nothing more after it.
    const ticker = setInterval(() => {
      control.heartbeat().catch((err: unknown) => {
        lost = true;
        log.info({ err, topic: batch.topic, partition: batch.partition }, 'heartbeat failed; abandoning the batch');
      });
    }, Math.max(500, Math.floor((options.heartbeatIntervalMs ?? 3_000) / 2)));
    const checkpoint = () => {
      // Not isRunning(): on a graceful stop the batch in hand is finished, not dropped.
      if (lost || control.isStale()) throw new Abandon('batch no longer ours');
    };
    const clock: Clock = { now: systemClock.now, sleep: (ms, signal) => systemClock.sleep(ms, signal) };
    let attempts = 0;
    const key = `${batch.topic}:${batch.partition}`;
    const firstTry = Date.now();
    try {
      await retry(
        async () => {
          checkpoint();
          let bisect = false;
          for (let refences = 0; ; refences++) {
            attempts++;
            try {
              return await processOnce(batch, attempts, checkpoint, bisect);
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
          isRetriable: (err) => judge('apply', err) === 'retry',
          onRetry: ({ error, delayMs, attempt }) => {
            const e = retryFailureOf(error);
            stall.failing(key, { topic: kindOf.get(batch.topic) ?? batch.topic, partition: String(batch.partition) }, firstTry, Date.now());
            metrics.retries.inc({ flow: flow.name, code: e.code });
            log.warn({ err: e, attempt, delayMs, topic: batch.topic, partition: batch.partition }, 'transient failure; retrying the batch');
            if (resume === undefined) resume = control.pause();
          },
        },
      );
      stall.recovered(key, { topic: kindOf.get(batch.topic) ?? batch.topic, partition: String(batch.partition) });
      control.resolveOffset(batch.lastOffset);
      metrics.batchSeconds.observe({ flow: flow.name }, (performance.now() - started) / 1000);
      const lagLabels = { flow: flow.name, topic: kindOf.get(batch.topic) ?? batch.topic, partition: String(batch.partition) };
      lagSeries.set(`${batch.topic}:${batch.partition}`, lagLabels);
      metrics.lag.set(lagLabels, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset) - 1n)));
      // Informational only (lag tools): PostgreSQL holds the offsets that count. Not
      // awaited — a commit round trip per batch was the largest fixed cost of a small
      // batch (found by npm run bench) — and coalesced: one request in flight at a time.
      kafkaCommits.commit(batch.topic, batch.partition, (BigInt(batch.lastOffset) + 1n).toString());
    } catch (err) {
      if (err instanceof Abandon || stopping.signal.aborted || lost) return stall.recovered(key);
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
      await consumer.subscribe(flow.inputs.map((k) => topics[k]), true);
      await consumer.run({ concurrency: options.partitionsConsumedConcurrently ?? 3, eachBatch }).catch((err: unknown) => {
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
      // working finishes: disconnect() waits for the batch in hand to finish, then leaves the group.
      // The last informational commit may go out, but an unreachable broker must not hold the shutdown.
      await Promise.race([kafkaCommits.flush(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
      await consumer.disconnect();
      if (ownsRelay) await relay.stop();
      if (ownsProducer) await producer.disconnect();
      settle.resolve();
    },
    done,
    isReady: () => joined && !stopped,
    stalledPartitions: () => stall.stalled(),
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

/**
 * What a transient batch failure is, for the retries metric and the log: ours are
 * AcmeSyncErrors already (Kafka — the port classifies its failures —, registry, Acme), and
 * anything else inside the batch's transaction comes from PostgreSQL — classified by SQLSTATE, and
 * a dropped connection (no SQLSTATE: ECONNREFUSED, "Connection terminated") is
 * DATABASE_UNAVAILABLE, never INTERNAL.
 */
export function retryFailureOf(err: unknown): AcmeSyncError {
  if (err instanceof AcmeSyncError) return err.stage === undefined ? err.atStage('sink') : err;
  return databaseError(err, 'sink');
}

export { correlationIdOf } from './stages/emit.js';

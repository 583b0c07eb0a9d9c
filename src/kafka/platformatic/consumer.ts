/**
 * The port's group consumer over @platformatic/kafka.
 *
 * The library's consumer API is a MessagesStream: one Readable of single records across
 * every assigned partition, with no per-partition pause, no seek, and a stream that destroys
 * itself on the first fetch error (messages-stream.js #fetch → this.destroy(error)). The
 * runner needs per-partition batches it can hold while a transaction retries, a seek back to
 * PostgreSQL's offset, and a consumer that rides out a broker restart. So the adapter uses the
 * library's `Consumer` for what it does well — group membership (JoinGroup/SyncGroup, its own
 * heartbeat timer, rejoining on REBALANCE_IN_PROGRESS), offsets (ListOffsets, OffsetFetch,
 * OffsetCommit) and the Fetch API with record-batch parsing — and runs its own fetch loop:
 *
 *  - one Fetch in flight per leader broker, for the assigned partitions that are neither
 *    paused nor held by a batch in hand, on a connection pool of its own (a long-poll fetch
 *    must not queue the heartbeats and commits behind it: a broker answers one connection's
 *    requests in order — the library's MessagesStream does the same);
 *  - each partition's records of a fetch become one batch; `concurrency` batches are
 *    handled at a time, a partition's batches one after another (it is not fetched again
 *    until its batch is done);
 *  - positions: the next offset to fetch per partition, read at each new generation from
 *    the group's committed offset (else the earliest or latest offset), advanced only by
 *    `resolveOffset` and moved by `seek` — kafkajs' semantics with eachBatchAutoResolve off;
 *  - a generation ends when the library sees a rebalance (heartbeat answered
 *    REBALANCE_IN_PROGRESS) or joins again: every batch in hand is then stale, its
 *    heartbeat() rejects, and positions are read again — the group's eager (classic)
 *    protocol revokes every partition at a rebalance;
 *  - Fetch failures (a broker down, a leader moved, timeouts) clear the metadata and retry
 *    with backoff, forever: no crash. OFFSET_OUT_OF_RANGE resets the partition as
 *    auto.offset.reset would (earliest when subscribed from the beginning).
 *
 * MEASUREMENT-ONLY (issue 14): kafkajs is the default client; see options.ts.
 */
import { randomUUID } from 'node:crypto';
import type { ClusterMetadata, ConnectionPool, Consumer, ConsumerGroupJoinPayload, GroupAssignment } from '@platformatic/kafka';
import type { Logger } from 'pino';
import { ERROR_CODES, TransientError } from '../../errors/index.js';
import type { Assignment, BatchControl, GroupConsumer, GroupConsumerOptions, IncomingRecord, KafkaClientOptions, RecordBatch, RunOptions } from '../types.js';
import { hasProtocolError, isPermanentKafkaError, toKafkaError } from './errors.js';
import { EARLIEST, IS_CONTROL, LATEST, loadLibrary, READ_COMMITTED } from './library.js';
import { baseOptions } from './options.js';

type PlatformaticConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
/** The Fetch API's parsed answer (the library exports it only inside its `fetchV17` namespace). */
type FetchResponse = Awaited<ReturnType<PlatformaticConsumer['fetch']>>;

interface Held {
  key: string;
  generation: number;
  seeks: number;
}

const key = (topic: string, partition: number) => `${topic}:${partition}`;
/** fetch.max.wait.ms while batches are in hand (see waitFor). */
const BUSY_MAX_WAIT_MS = 10;

/** Records of one partition's record batches, from `from` on (a fetch may start inside a compressed batch that holds earlier offsets). */
export function recordsOf(batches: FetchResponse['responses'][number]['partitions'][number]['records'], from: bigint): { records: IncomingRecord[]; lastOffset: bigint | undefined } {
  const records: IncomingRecord[] = [];
  let lastOffset: bigint | undefined;
  for (const batch of batches ?? []) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (lastOffset === undefined || end > lastOffset) lastOffset = end;
    // Transaction markers carry no record for us; their offsets still count (lastOffset).
    if (batch.attributes & IS_CONTROL) continue;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue;
      const headers: Record<string, Buffer | undefined> = {};
      for (const [k, v] of r.headers) if (k !== null) headers[k.toString('utf8')] = v ?? undefined;
      records.push({ key: r.key, value: r.value, headers, offset: offset.toString(), timestamp: (batch.firstTimestamp + r.timestampDelta).toString() });
    }
  }
  return { records, lastOffset: lastOffset !== undefined && lastOffset >= from ? lastOffset : undefined };
}

export function createPlatformaticConsumer(client: KafkaClientOptions, options: GroupConsumerOptions): GroupConsumer {
  const log: Logger | undefined = client.logger?.child({ kafkaClient: 'platformatic', groupId: options.groupId });
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  const maxWaitTime = options.maxWaitTimeMs ?? 500;
  const maxBytesPerPartition = options.maxBytesPerPartition ?? 1_048_576;
  const base = baseOptions(client, `consumer-${randomUUID().slice(0, 8)}`);
  // Created at connect(): the library is loaded then (library.ts).
  let consumer!: PlatformaticConsumer;
  /** Fetches only: see the header. */
  let fetchPool!: ConnectionPool;
  const assignmentListeners: ((a: Assignment) => void)[] = [];
  const crashListeners: ((err: unknown, willRestart: boolean) => void)[] = [];

  let topics: string[] = [];
  let fromBeginning = true;
  let generation = 0;
  let assigned: { topic: string; partition: number }[] = [];
  const positions = new Map<string, bigint>();
  const seeks = new Map<string, number>();
  const paused = new Map<string, number>();
  /** Partitions whose batch is queued or in hand: not fetched until it is done. */
  const held = new Set<string>();
  const inFlight = new Set<number>();
  /** Partitions whose offset left the log (OFFSET_OUT_OF_RANGE): reset to earliest/latest, not to the committed offset. */
  const outOfRange = new Set<string>();
  let positionsFor = -1;
  let running = false;
  let crashed = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;
  const queue: { batch: RecordBatch; held: Held }[] = [];
  const working = new Set<Promise<void>>();
  let run: RunOptions | undefined;
  let fetchFailures = 0;

  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  async function create(): Promise<void> {
    const library = await loadLibrary();
    consumer = new library.Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...base,
      groupId: options.groupId,
      sessionTimeout,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? sessionTimeout * 2,
      maxWaitTime,
      maxBytesPerPartition,
      maxBytes: Math.max(maxBytesPerPartition, 10 * 1_048_576),
      isolationLevel: READ_COMMITTED,
      autocommit: false,
    });
    fetchPool = new library.ConnectionPool(base.clientId, base);
    // A rebalance seen by the library's heartbeat: every batch in hand is stale from now on.
    consumer.on('consumer:group:rebalance', () => {
      generation++;
      notify();
    });
    consumer.on('consumer:group:join', (payload: ConsumerGroupJoinPayload) => {
      generation++;
      assigned = (payload.assignments ?? []).flatMap((a: GroupAssignment) => a.partitions.map((partition) => ({ topic: a.topic, partition })));
      positions.clear();
      const assignment: Assignment = {};
      for (const a of payload.assignments ?? []) assignment[a.topic] = [...a.partitions];
      log?.info({ assignment, generationId: payload.generationId }, 'joined consumer group (platformatic)');
      for (const listener of assignmentListeners) listener(assignment);
      notify();
    });
    // The library emits 'error' when rejoining failed after its retries; unhandled, an
    // EventEmitter 'error' would throw. Join again after a pause.
    consumer.on('error', (err: unknown) => {
      if (!running) return;
      for (const listener of crashListeners) listener(toKafkaError(err, 'Kafka consumer group failed'), true);
      setTimeout(() => {
        if (running) consumer.joinGroup({}).catch((e: unknown) => consumer.emit('error', e));
      }, 1_000).unref();
    });
  }

  async function readPositions(gen: number): Promise<void> {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of assigned) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    if (byTopic.size === 0) return;
    const committed = await consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
    const committedOf = (topic: string, partition: number) => (outOfRange.has(key(topic, partition)) ? -1n : (committed.get(topic)?.[partition] ?? -1n));
    const missing = assigned.filter(({ topic, partition }) => committedOf(topic, partition) < 0n);
    const reset = missing.length === 0 ? new Map<string, bigint[]>() : await consumer.listOffsets({ topics: [...new Set(missing.map((m) => m.topic))], timestamp: fromBeginning ? EARLIEST : LATEST });
    if (gen !== generation) return;
    for (const { topic, partition } of assigned) {
      const k = key(topic, partition);
      if (positions.has(k)) continue; // sought meanwhile
      const c = committedOf(topic, partition);
      const offset = c >= 0n ? c : reset.get(topic)?.[partition];
      if (offset !== undefined) positions.set(k, offset);
      outOfRange.delete(k);
    }
    positionsFor = gen;
  }

  function fetchable(): { topic: string; partition: number; offset: bigint }[] {
    const out = [];
    for (const { topic, partition } of assigned) {
      const k = key(topic, partition);
      const offset = positions.get(k);
      if (offset === undefined || held.has(k) || paused.has(k)) continue;
      out.push({ topic, partition, offset });
    }
    return out;
  }

  async function fetchFrom(leader: number, metadata: ClusterMetadata, parts: { topic: string; partition: number; offset: bigint }[], gen: number): Promise<void> {
    const byTopic = new Map<string, { partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }[]>();
    const idToTopic = new Map<string, string>();
    for (const p of parts) {
      const id = metadata.topics.get(p.topic)!.id;
      idToTopic.set(id, p.topic);
      byTopic.set(id, [...(byTopic.get(id) ?? []), { partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }]);
    }
    const requested = new Map(parts.map((p) => [key(p.topic, p.partition), p.offset]));
    let response: FetchResponse;
    try {
      response = await consumer.fetch({ node: leader, topics: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })), maxWaitTime: waitFor(), connectionPool: fetchPool });
    } catch (err) {
      return fetchFailed(err, outOfRangeIn(err, idToTopic));
    }
    fetchFailures = 0;
    if (!running || gen !== generation) return;
    for (const t of response.responses) {
      const topic = idToTopic.get(t.topicId);
      if (topic === undefined) continue;
      for (const p of t.partitions) {
        const k = key(topic, p.partitionIndex);
        const from = requested.get(k);
        // Moved meanwhile (a seek): what was fetched is not what is wanted any more.
        if (from === undefined || positions.get(k) !== from) continue;
        const { records, lastOffset } = recordsOf(p.records, from);
        if (lastOffset === undefined) continue;
        if (records.length === 0) {
          // Only transaction markers or compacted gaps: nothing to hand over, move past them.
          positions.set(k, lastOffset + 1n);
          continue;
        }
        held.add(k);
        queue.push({
          batch: { topic, partition: p.partitionIndex, records, firstOffset: records[0]!.offset, lastOffset: lastOffset.toString(), highWatermark: p.highWatermark.toString() },
          held: { key: k, generation: gen, seeks: seeks.get(k) ?? 0 },
        });
      }
    }
    pump();
  }

  /**
   * fetch.max.wait.ms of the next Fetch. While batches are in hand, their partitions are
   * not in it, and once done they must wait for it to come back (one Fetch in flight per
   * broker: a broker answers one connection's requests in order). A long poll then held
   * every finished partition back by up to maxWaitTime — 250 ms more webhook → row latency
   * at p50 in `npm run bench -- --only e2e` at 600 webhooks/s (47 → 291 ms). So the poll is
   * short while anything is held, long only when the member is idle.
   */
  function waitFor(): number {
    return held.size > 0 ? Math.min(maxWaitTime, BUSY_MAX_WAIT_MS) : maxWaitTime;
  }

  function fetchFailed(err: unknown, lost: string[]): void {
    if (!running) return;
    if (lost.length > 0) {
      // auto.offset.reset: earliest when subscribed from the beginning, else latest.
      log?.warn({ partitions: lost }, 'fetch offset out of range; resetting the partitions');
      for (const k of lost) {
        positions.delete(k);
        outOfRange.add(k);
      }
      positionsFor = -1;
      return;
    }
    consumer.clearMetadata();
    fetchFailures++;
    if (fetchFailures === 1) log?.warn({ err: toKafkaError(err, 'Kafka fetch failed') }, 'Kafka fetch failed; retrying');
    if (fetchFailures === 3) for (const listener of crashListeners) listener(toKafkaError(err, 'Kafka fetch keeps failing'), true);
  }

  /** Start queued batches up to `concurrency`. */
  function pump(): void {
    while (run !== undefined && working.size < run.concurrency && queue.length > 0) {
      const next = queue.shift()!;
      const job = handle(next.batch, next.held).finally(() => {
        working.delete(job);
        held.delete(next.held.key);
        notify();
        pump();
      });
      working.add(job);
    }
  }

  /** Revoked (a new generation) or sought since fetched. Not a stop: on a graceful stop the batch in hand is finished (the runner relies on it). */
  function stale(h: Held): boolean {
    return h.generation !== generation || (seeks.get(h.key) ?? 0) !== h.seeks;
  }

  async function handle(batch: RecordBatch, h: Held): Promise<void> {
    if (stale(h) || crashed || !running) return;
    const control: BatchControl = {
      heartbeat: async () => {
        // The library heartbeats on its own timer; here we only tell the caller whether the
        // member still owns what it is working on.
        if (h.generation !== generation) throw new TransientError('The consumer group rebalanced: this batch is no longer ours', { code: ERROR_CODES.KAFKA_UNAVAILABLE });
      },
      isStale: () => stale(h),
      pause: () => {
        paused.set(h.key, (paused.get(h.key) ?? 0) + 1);
        let resumed = false;
        return () => {
          if (resumed) return;
          resumed = true;
          const n = (paused.get(h.key) ?? 1) - 1;
          if (n <= 0) paused.delete(h.key);
          else paused.set(h.key, n);
          notify();
        };
      },
      resolveOffset: (offset: string) => {
        if (stale(h)) return;
        const next = BigInt(offset) + 1n;
        const current = positions.get(h.key);
        if (current === undefined || next > current) positions.set(h.key, next);
      },
    };
    try {
      await run!.eachBatch(batch, control);
    } catch (err) {
      crash(err);
    }
  }

  function crash(err: unknown): void {
    if (crashed) return;
    crashed = true;
    running = false;
    notify();
    for (const listener of crashListeners) listener(err, false);
  }

  async function fetchLoop(): Promise<void> {
    let backoff = 0;
    while (running) {
      try {
        if (backoff > 0) await sleep(backoff);
        if (!running) return;
        const gen = generation;
        if (positionsFor !== gen) await readPositions(gen);
        const parts = fetchable();
        const metadata = parts.length === 0 ? undefined : await consumer.metadata({ topics });
        const byLeader = new Map<number, typeof parts>();
        for (const p of parts) {
          const leader = metadata!.topics.get(p.topic)?.partitions[p.partition]?.leader ?? -1;
          if (leader < 0 || inFlight.has(leader)) continue;
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
        }
        for (const [leader, ps] of byLeader) {
          inFlight.add(leader);
          void fetchFrom(leader, metadata!, ps, gen).finally(() => {
            inFlight.delete(leader);
            notify();
          });
        }
        backoff = fetchFailures === 0 ? 0 : Math.min(2_000, 100 * 2 ** (fetchFailures - 1));
        // Wait for a fetch to finish, a batch to be done, a rebalance — or poll (a paused partition, metadata).
        if (running) await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(notify, byLeader.size === 0 ? 100 : maxWaitTime * 4).unref();
        });
      } catch (err) {
        if (!running) return;
        if (isPermanentKafkaError(err)) return crash(toKafkaError(err, 'Kafka consumer failed'));
        consumer.clearMetadata();
        backoff = Math.min(2_000, Math.max(100, backoff * 2));
        log?.warn({ err: toKafkaError(err, 'Kafka consumer step failed') }, 'Kafka consumer step failed; retrying');
      }
    }
  }

  return {
    async connect() {
      if (consumer === undefined) await create();
      try {
        await consumer.metadata({ topics: [] });
      } catch (err) {
        throw toKafkaError(err, 'Kafka consumer could not connect');
      }
    },
    async subscribe(list, beginning) {
      topics = [...list];
      fromBeginning = beginning;
      for (const t of topics) consumer.topics.track(t);
    },
    async run(runOptions) {
      run = runOptions;
      running = true;
      try {
        await consumer.joinGroup({});
      } catch (err) {
        running = false;
        throw toKafkaError(err, 'Kafka consumer could not join its group');
      }
      loop = fetchLoop();
    },
    seek(topic, partition, offset) {
      const k = key(topic, partition);
      seeks.set(k, (seeks.get(k) ?? 0) + 1);
      positions.set(k, BigInt(offset));
      notify();
    },
    async commitOffsets(offsets) {
      if (offsets.length === 0) return;
      try {
        await consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) });
      } catch (err) {
        throw toKafkaError(err, 'Kafka offset commit failed');
      }
    },
    onAssignment(listener) {
      assignmentListeners.push(listener);
    },
    onCrash(listener) {
      crashListeners.push(listener);
    },
    async disconnect() {
      if (consumer === undefined) return;
      running = false;
      queue.length = 0;
      notify();
      await loop;
      // The batches in hand finish (the runner's graceful stop); queued ones are dropped.
      await Promise.allSettled([...working]);
      await consumer.close().catch((err: unknown) => log?.debug({ err }, 'leaving the consumer group failed'));
      await fetchPool.close().catch(() => undefined);
    },
  };
}

/**
 * The partitions a failed Fetch answered OFFSET_OUT_OF_RANGE for. The library fails the
 * whole Fetch when any partition has an error (fetch-v17.js parseResponse) and attaches the
 * parsed answer to the ResponseError; that error is not retried (canRetry false), so it
 * arrives unwrapped.
 */
export function outOfRangeIn(err: unknown, idToTopic: ReadonlyMap<string, string>): string[] {
  if (!hasProtocolError(err, 'OFFSET_OUT_OF_RANGE')) return [];
  const response = (err as { response?: FetchResponse }).response;
  const out: string[] = [];
  for (const t of response?.responses ?? []) {
    const topic = idToTopic.get(t.topicId);
    if (topic === undefined) continue;
    for (const p of t.partitions) if (p.errorCode === 1) out.push(key(topic, p.partitionIndex));
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

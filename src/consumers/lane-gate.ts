/**
 * Live first inside one consumers process (issue 17). The history lane's runners have
 * their own Kafka partitions, but they share the process's event loop, its PostgreSQL
 * pool and the machine's cores with the live runners: a history batch being decoded or
 * applied delays the live batch behind it (measured: `npm run bench -- --only onboarding`).
 *
 * The gate wraps the flows: a live batch counts as in flight while its flow prepares and
 * applies it; a history batch first waits until no live batch is in flight (at most
 * `maxWaitMs`, so history is slowed, never starved), then takes its records from a token
 * bucket of `maxRecordsPerSecond` (0 = no cap) — the bounded share of the consumers'
 * capacity history may use (CONSUMER_HISTORY_MAX_RECORDS_PER_SECOND).
 */
import type { Flow } from './runtime/types.js';

export interface LaneGate {
  /** The live flow, counted while it works. */
  live<P>(flow: Flow<P>): Flow<P>;
  /** The history flow, which waits for live work and its rate. */
  history<P>(flow: Flow<P>, name: string): Flow<P>;
}

export interface LaneGateOptions {
  maxRecordsPerSecond: number;
  /** Longest a history batch waits for live batches in flight. */
  maxWaitMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createLaneGate(options: LaneGateOptions): LaneGate {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const maxWaitMs = options.maxWaitMs ?? 250;
  const rate = options.maxRecordsPerSecond;
  let liveInFlight = 0;
  let idle: { promise: Promise<void>; resolve: () => void } | undefined;
  // Token bucket for history records: capacity one second's worth, so a burst is at most that.
  let tokens = rate;
  let at = now();

  async function counted<T>(fn: () => Promise<T>): Promise<T> {
    liveInFlight++;
    try {
      return await fn();
    } finally {
      if (--liveInFlight === 0 && idle) {
        idle.resolve();
        idle = undefined;
      }
    }
  }

  async function liveIdle(): Promise<void> {
    if (liveInFlight === 0) return;
    if (!idle) {
      let resolve!: () => void;
      idle = { promise: new Promise<void>((r) => (resolve = r)), resolve };
    }
    await Promise.race([idle.promise, sleep(maxWaitMs)]);
  }

  async function take(records: number): Promise<void> {
    if (rate <= 0) return;
    for (;;) {
      const t = now();
      tokens = Math.min(rate, tokens + ((t - at) / 1000) * rate);
      at = t;
      // A batch larger than a second's worth goes once the bucket is full (and leaves it in debt).
      const need = Math.min(records, rate);
      if (tokens >= need) {
        tokens -= records;
        return;
      }
      await sleep(Math.ceil(((need - tokens) / rate) * 1000));
    }
  }

  return {
    live: (flow) => ({
      ...flow,
      prepare: (records, ctx) => counted(() => flow.prepare(records, ctx)),
      apply: (db, prepared, ctx) => counted(() => flow.apply(db, prepared, ctx)),
    }),
    history: (flow, name) => ({
      ...flow,
      name,
      async prepare(records, ctx) {
        await liveIdle();
        await take(records.length);
        return flow.prepare(records, ctx);
      },
      apply: (db, prepared, ctx) => flow.apply(db, prepared, ctx),
    }),
  };
}

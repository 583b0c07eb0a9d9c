/**
 * The transactional outbox (table outbox, migration 1765100000000) and its relay.
 *
 * `writeOutbox` runs inside a consumer batch's transaction: the outputs and DLQ records
 * become rows committed (or rolled back) with the sink writes, the ledger and the offsets,
 * so no PostgreSQL lock is held across a Kafka round trip (issue 14) and nothing is
 * published for a transaction that rolled back.
 *
 * The relay publishes committed rows: it claims lanes (a transaction-scoped advisory lock
 * per lane, so one relay per lane across every process — the claim is by SKIP-LOCKED
 * semantics: pg_try_advisory_xact_lock never waits), reads their rows in `id` order, sends
 * them with acks=all, then deletes them (and indexes published DLQ records in dlq_records)
 * and commits. A crash anywhere before that COMMIT leaves the rows in place: another relay
 * (or this one after a restart) publishes them again — at-least-once, never lost. The lane
 * lock is held across the Kafka round trip, but only relays take it: no consumer batch
 * ever waits on it. Per-key order: a key's rows fall in one lane, published in id order by
 * one relay at a time (see the migration for why id order is commit order per key).
 *
 * Debezium's outbox event router and the "polling publisher" of
 * https://microservices.io/patterns/data/transactional-outbox.html are the models; here the
 * relay is woken by the runner after each commit and polls as a fallback for rows left by a
 * process that died.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { schemaKey } from '../../db/advisory.js';
import type { KafkaProducer, OutgoingRecord } from '../../kafka/index.js';
import type { Logger } from '../../logger.js';
import { counter, gauge, type Registry } from '../../metrics/index.js';
import { kafkaUnavailable } from '../../producers/publisher.js';
import { indexDlqRecords, sendDlqMessages } from '../../dlq/records.js';
import type { Queryable } from '../sinks/contacts.js';

/** Lanes of the outbox: the relay parallelism across processes (a fixed number: a row's lane never changes). */
export const OUTBOX_LANES = 16;
/**
 * The advisory-lock namespace of outbox lanes (pg_try_advisory_xact_lock(int, int)): one per
 * schema, because advisory locks are database-wide and each schema has its own outbox — with a
 * fixed namespace, a relay of another schema in the same database (another environment, a
 * parallel test file) held our lanes and this relay found none free.
 */
const LANE_LOCK_SPACE_SQL = schemaKey("'outbox-lanes'");

export interface OutboxMessage {
  kind: 'output' | 'dlq';
  topic: string;
  message: OutgoingRecord;
}

export function laneOf(topic: string, key: string | null): number {
  return createHash('md5').update(`${topic}\u0000${key ?? ''}`).digest().readUInt16BE(0) % OUTBOX_LANES;
}

/** Inside the batch's transaction: one INSERT for every output and DLQ record of the batch, in order. */
export async function writeOutbox(db: Queryable, sourceGroup: string, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const col = <T>(f: (m: OutboxMessage) => T) => messages.map(f);
  await db.query(
    `INSERT INTO outbox (lane, kind, topic, key, value, headers, source_group)
     SELECT l, k, t, ky, v, h, $1 FROM UNNEST($2::smallint[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::jsonb[]) WITH ORDINALITY AS u(l, k, t, ky, v, h, n) ORDER BY n`,
    [
      sourceGroup, col((m) => laneOf(m.topic, m.message.key)), col((m) => m.kind), col((m) => m.topic), col((m) => m.message.key),
      col((m) => m.message.value),
      col((m) => (m.message.headers === undefined ? null : JSON.stringify(m.message.headers))),
    ],
  );
}

export interface OutboxRelayOptions {
  pool: pg.Pool;
  producer: KafkaProducer;
  logger: Logger;
  metrics: Registry;
  /** Rows per relay round (default 2,000). */
  batchSize?: number;
  /** Fallback poll for rows another process left behind (default 1 s). */
  pollMs?: number;
  /** Wait after a failed round (default 500 ms, doubling to 10 s). */
  backoffMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Rows were committed: publish them soon. */
  wake(): void;
  /** Publish what is there now (one pass over the free lanes until they are empty); resolves with the rows published. */
  drain(): Promise<number>;
  /** Stop after a last drain bounded by `graceMs` (default 2 s). */
  stop(graceMs?: number): Promise<void>;
}

interface Row {
  id: string;
  kind: 'output' | 'dlq';
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string> | null;
}

export function createOutboxMetrics(registry: Registry) {
  return {
    published: counter(registry, { name: 'acme_sync_outbox_published_total', help: 'Outbox rows published to Kafka and deleted, by kind', labelNames: ['kind'] as const }),
    failures: counter(registry, { name: 'acme_sync_outbox_relay_failures_total', help: 'Relay rounds rolled back after a Kafka or PostgreSQL failure', labelNames: [] as const }),
    oldest: gauge(registry, { name: 'acme_sync_outbox_oldest_seconds', help: 'Age of the oldest outbox row seen by this relay at its last round (0 when empty)', labelNames: [] as const }),
  };
}

/** One relay round inside a transaction: claim free lanes, publish up to `limit` rows, delete them. Returns rows published. */
export async function relayOnce(pool: pg.Pool, producer: KafkaProducer, limit: number): Promise<{ published: number; byKind: Record<Row['kind'], number>; oldestSeconds: number }> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    // Claim every free lane (16 non-blocking advisory locks in one statement), then read the
    // claimed lanes' oldest rows through the (lane, id) index: no scan of the whole outbox
    // per round, which a GROUP BY over a backlog was (found by npm run bench).
    const { rows: claimed } = await db.query<{ lane: number }>(
      `SELECT lane FROM generate_series(0, $1::int - 1) AS lane WHERE pg_try_advisory_xact_lock(${LANE_LOCK_SPACE_SQL}, lane)`,
      [OUTBOX_LANES],
    );
    if (claimed.length === 0) {
      await db.query('COMMIT');
      return { published: 0, byKind: { output: 0, dlq: 0 }, oldestSeconds: 0 };
    }
    const { rows } = await db.query<Row & { age: number }>(
      `SELECT id, kind, topic, key, value, headers, extract(epoch FROM now() - created_at)::float8 AS age
       FROM outbox WHERE lane = ANY($1::smallint[]) ORDER BY id LIMIT $2`,
      [claimed.map((c) => c.lane), limit],
    );
    const oldestSeconds = rows.length === 0 ? 0 : rows[0]!.age;
    if (rows.length === 0) {
      await db.query('COMMIT');
      return { published: 0, byKind: { output: 0, dlq: 0 }, oldestSeconds };
    }
    const outputs = new Map<string, OutgoingRecord[]>();
    const dlq = new Map<string, OutgoingRecord[]>();
    for (const r of rows) {
      const target = r.kind === 'dlq' ? dlq : outputs;
      const message: OutgoingRecord = { key: r.key, value: r.value, ...(r.headers === null ? {} : { headers: r.headers }) };
      const list = target.get(r.topic);
      if (list === undefined) target.set(r.topic, [message]);
      else list.push(message);
    }
    // In id order within each topic: per-key order (a key's rows are in one lane and one topic).
    // The producer splits a large send into requests under the broker's size limit, in order.
    if (outputs.size > 0) {
      try {
        await producer.send([...outputs].map(([topic, records]) => ({ topic, records })));
      } catch (err) {
        // Whatever Kafka said, the rows stay and the relay tries again later.
        throw kafkaUnavailable(err);
      }
    }
    for (const [topic, messages] of dlq) await indexDlqRecords(db, topic, await sendDlqMessages(producer, topic, messages));
    await db.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
    await db.query('COMMIT');
    const byKind = { output: rows.filter((r) => r.kind === 'output').length, dlq: rows.filter((r) => r.kind === 'dlq').length };
    return { published: rows.length, byKind, oldestSeconds };
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    db.release();
  }
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { pool, producer } = options;
  const log = options.logger.child({ component: 'outbox-relay' });
  const metrics = createOutboxMetrics(options.metrics);
  const limit = options.batchSize ?? 2_000;
  const pollMs = options.pollMs ?? 1_000;
  const backoffMs = options.backoffMs ?? 500;
  let running = false;
  let loop: Promise<void> | undefined;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  let backingOff = false;
  let draining: Promise<number> | undefined;

  async function pass(): Promise<number> {
    let total = 0;
    for (;;) {
      const round = await relayOnce(pool, producer, limit);
      metrics.oldest.set(round.oldestSeconds);
      for (const kind of ['output', 'dlq'] as const) if (round.byKind[kind] > 0) metrics.published.inc({ kind }, round.byKind[kind]);
      total += round.published;
      if (round.published < limit) return total;
    }
  }

  /** One pass at a time per relay: concurrent callers share it. */
  function drain(): Promise<number> {
    draining ??= pass().finally(() => (draining = undefined));
    return draining;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (running) {
      woken = false;
      try {
        await drain();
        failures = 0;
      } catch (err) {
        failures++;
        metrics.failures.inc();
        log.warn({ err, failures }, 'outbox relay round failed; the rows stay and are published later');
      }
      if (!running) return;
      if (woken && failures === 0) continue;
      const wait = failures === 0 ? pollMs : Math.min(10_000, backoffMs * 2 ** (failures - 1));
      backingOff = failures > 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref();
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
      backingOff = false;
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    wake() {
      woken = true;
      // A wake during a failure backoff does not cut the backoff short.
      if (!backingOff) wakeUp?.();
    },
    drain,
    async stop(graceMs = 2_000) {
      if (!running) return;
      running = false;
      backingOff = false;
      wakeUp?.();
      await loop;
      // A last pass for the batches committed just before the stop; bounded, so an
      // unreachable broker does not hold the shutdown (the rows stay for the next relay).
      await Promise.race([drain().catch((err: unknown) => log.warn({ err }, 'last outbox pass failed; rows stay for the next relay')), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    },
  };
}

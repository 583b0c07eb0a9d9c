/**
 * Reading and replaying the dead-letter topic.
 *
 * A DLQ record is the original key and bytes with the failure in `acme-sync.error.*`
 * headers (src/consumers/runtime/dlq.ts). Replaying sends the original record back
 * to its source topic with `acme-sync.replay.count` incremented: a record that fails
 * again comes back to the DLQ carrying that count, and is not replayed past the
 * limit, so nothing loops. Replays are recorded in PostgreSQL so replaying the same
 * selection twice sends nothing the second time; the consumers are idempotent by
 * version anyway.
 */
import type { IncomingRecord, KafkaClient, KafkaProducer } from '../kafka/types.js';
import type pg from 'pg';
import { DLQ_HEADERS, DLQ_HEADER_PREFIX } from '../consumers/runtime/dlq.js';
import type { AvroCodec } from '../registry/index.js';

export const REPLAY_HEADERS = {
  count: 'acme-sync.replay.count',
  source: 'acme-sync.replay.source',
} as const;

export interface DlqRecord {
  /** `partition:offset` in the DLQ topic. */
  id: string;
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  error: {
    sourceTopic: string;
    sourcePartition: number;
    sourceOffset: string;
    stage: string;
    code: string;
    message: string;
    tenantId: string;
    acmeId: string;
    schemaId: number;
    attempts: number;
    consumer: string;
    time: string;
  };
  replayCount: number;
}

export interface DlqFilter {
  tenantId?: string;
  code?: string;
  stage?: string;
  sourceTopic?: string;
  /** Epoch ms, inclusive, on the DLQ record's timestamp. */
  since?: number;
  until?: number;
  ids?: readonly string[];
}

function headerText(headers: IncomingRecord['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

export function toDlqRecord(partition: number, message: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers?: IncomingRecord['headers'] }): DlqRecord {
  const h = headerText(message.headers);
  return {
    id: `${partition}:${message.offset}`,
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key?.toString('utf8') ?? null,
    value: message.value,
    headers: h,
    error: {
      sourceTopic: h[DLQ_HEADERS.topic] ?? '',
      sourcePartition: Number(h[DLQ_HEADERS.partition] ?? -1),
      sourceOffset: h[DLQ_HEADERS.offset] ?? '',
      stage: h[DLQ_HEADERS.stage] ?? '',
      code: h[DLQ_HEADERS.code] ?? '',
      message: h[DLQ_HEADERS.message] ?? '',
      tenantId: h[DLQ_HEADERS.tenant] ?? '',
      acmeId: h[DLQ_HEADERS.acmeId] ?? '',
      schemaId: Number(h[DLQ_HEADERS.schemaId] ?? -1),
      attempts: Number(h[DLQ_HEADERS.attempts] ?? 0),
      consumer: h[DLQ_HEADERS.consumerGroup] ?? '',
      time: h[DLQ_HEADERS.time] ?? '',
    },
    replayCount: Number(h[REPLAY_HEADERS.count] ?? 0),
  };
}

export function isSelected(record: DlqRecord, filter: DlqFilter): boolean {
  const e = record.error;
  return (
    (filter.tenantId === undefined || e.tenantId === filter.tenantId) &&
    (filter.code === undefined || e.code === filter.code) &&
    (filter.stage === undefined || e.stage === filter.stage) &&
    (filter.sourceTopic === undefined || e.sourceTopic === filter.sourceTopic) &&
    (filter.since === undefined || record.timestamp >= filter.since) &&
    (filter.until === undefined || record.timestamp <= filter.until) &&
    (filter.ids === undefined || filter.ids.includes(record.id))
  );
}

/**
 * Every record in the DLQ topic up to its end as of the call, matching the filter
 * (KafkaClient.readTopic: the kafkajs adapter reads with a throw-away consumer group).
 */
export async function readDlq(kafka: KafkaClient, topic: string, filter: DlqFilter = {}, onProgress?: (read: number, total: number) => void): Promise<DlqRecord[]> {
  const found: DlqRecord[] = [];
  await kafka.readTopic(topic, { until: 'end', ...(onProgress ? { onProgress } : {}) }, (message) => {
    const record = toDlqRecord(message.partition, message);
    if (isSelected(record, filter)) found.push(record);
  });
  return found.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export interface DecodedDlqRecord {
  record: DlqRecord;
  payload: unknown;
  decodeError?: string;
}

/** The record with its Avro payload decoded when possible (bad bytes are the usual reason it is here). */
export async function describeDlqRecord(codec: AvroCodec, record: DlqRecord): Promise<DecodedDlqRecord> {
  try {
    return { record, payload: (await codec.decode(record.value)).value };
  } catch (err) {
    return { record, payload: record.value?.toString('utf8').slice(0, 2000) ?? null, decodeError: (err as Error).message };
  }
}

export type ReplayOutcome = 'replayed' | 'would-replay' | 'already-replayed' | 'replay-limit' | 'no-source-topic';

export interface ReplayOptions {
  producer: KafkaProducer;
  pool: pg.Pool;
  dlqTopic: string;
  /** Source topics the replay may write to (the input topics). */
  allowedTopics: ReadonlySet<string>;
  dryRun?: boolean;
  /** Records per second; 0 = unlimited. */
  ratePerSecond?: number;
  /** A record already replayed this many times is left in the DLQ. */
  maxReplays?: number;
  /** Replay again records this tool already replayed. */
  again?: boolean;
  onProgress?: (done: number, total: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReplayReport {
  total: number;
  byOutcome: Record<ReplayOutcome, number>;
  results: { id: string; outcome: ReplayOutcome; target: string }[];
}

/** Original headers without the error context, plus the incremented replay count. */
export function replayHeaders(record: DlqRecord, dlqTopic: string): Record<string, string> {
  const kept = Object.fromEntries(Object.entries(record.headers).filter(([k]) => !k.startsWith(DLQ_HEADER_PREFIX) && !k.startsWith('acme-sync.replay.')));
  return { ...kept, [REPLAY_HEADERS.count]: String(record.replayCount + 1), [REPLAY_HEADERS.source]: `${dlqTopic}:${record.id}` };
}

export async function replayDlq(records: readonly DlqRecord[], options: ReplayOptions): Promise<ReplayReport> {
  const maxReplays = options.maxReplays ?? 3;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const intervalMs = options.ratePerSecond && options.ratePerSecond > 0 ? 1000 / options.ratePerSecond : 0;
  const { rows } = await options.pool.query<{ dlq_partition: number; dlq_offset: string }>(
    'SELECT dlq_partition, dlq_offset FROM dlq_replays WHERE dlq_topic = $1', [options.dlqTopic],
  );
  const done = new Set(rows.map((r) => `${r.dlq_partition}:${r.dlq_offset}`));
  const report: ReplayReport = { total: records.length, byOutcome: { replayed: 0, 'would-replay': 0, 'already-replayed': 0, 'replay-limit': 0, 'no-source-topic': 0 }, results: [] };
  let next = Date.now();
  for (const [i, record] of records.entries()) {
    const target = record.error.sourceTopic;
    const outcome = await replayOne(record, target);
    report.byOutcome[outcome]++;
    report.results.push({ id: record.id, outcome, target });
    options.onProgress?.(i + 1, records.length);
  }
  return report;

  async function replayOne(record: DlqRecord, target: string): Promise<ReplayOutcome> {
    if (!options.allowedTopics.has(target)) return 'no-source-topic';
    if (record.replayCount >= maxReplays) return 'replay-limit';
    if (done.has(record.id) && !options.again) return 'already-replayed';
    if (options.dryRun) return 'would-replay';
    if (intervalMs > 0) {
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      next = Math.max(next, Date.now()) + intervalMs;
    }
    await options.producer.send([{ topic: target, records: [{ key: record.key, value: record.value, headers: replayHeaders(record, options.dlqTopic) }] }]);
    await options.pool.query(
      `INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, target_topic, tenant_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO UPDATE SET replayed_at = now()`,
      [options.dlqTopic, record.partition, record.offset, target, record.error.tenantId || null],
    );
    done.add(record.id);
    return 'replayed';
  }
}

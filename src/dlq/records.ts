/**
 * The DLQ topic's index in PostgreSQL (table dlq_records, migration 1765100000000): one row
 * per DLQ record Kafka acknowledged, written by its publisher (the outbox relay of the
 * consumers, the edge and poller dead-letter writer). `queryDlq` answers the admin API and
 * `acme-sync dlq` from it — same records, same `partition:offset` IDs, same filters — where
 * `readDlq` (src/dlq/index.ts) scans the whole topic (KafkaClient.readTopic)
 * (kept for drills and tests that check what the topic itself holds).
 */
import type { IncomingRecord, KafkaClient, KafkaProducer, OutgoingRecord, Acknowledgement } from '../kafka/types.js';
import type pg from 'pg';
import { DLQ_HEADERS } from '../consumers/runtime/dlq.js';
import { storable } from '../consumers/runtime/dlq-index.js';
import type { Queryable } from '../consumers/sinks/contacts.js';
import { kafkaUnavailable } from '../producers/publisher.js';
import { isSelected, readDlq, toDlqRecord, type DlqFilter, type DlqRecord } from './index.js';

/** A DLQ record as the relay or a dead-letter writer sent it: a DlqRecord before its ID, replay count and parsed error. */
export type PublishedDlqRecord = Omit<DlqRecord, 'id' | 'error' | 'replayCount'>;

function headerValue(v: Buffer | string): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

/** The headers of a record as strings (what the index keeps). */
export function headerStrings(headers: IncomingRecord['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (v !== undefined) out[k] = headerValue(v);
  return out;
}

export async function indexDlqRecords(db: Queryable, topic: string, records: readonly PublishedDlqRecord[]): Promise<void> {
  if (records.length === 0) return;
  const col = <T>(f: (r: PublishedDlqRecord) => T) => records.map(f);
  const h = (r: PublishedDlqRecord, name: string) => storable(r.headers[name] ?? '');
  await db.query(
    `INSERT INTO dlq_records (dlq_topic, dlq_partition, dlq_offset, record_time, key, value, headers, tenant_id, code, stage, source_topic)
     SELECT $1, * FROM UNNEST($2::int[], $3::bigint[], $4::timestamptz[], $5::text[], $6::bytea[], $7::jsonb[], $8::text[], $9::text[], $10::text[], $11::text[])
     ON CONFLICT DO NOTHING`,
    [
      topic, col((r) => r.partition), col((r) => r.offset), col((r) => new Date(r.timestamp).toISOString()), col((r) => (r.key === null ? null : storable(r.key))), col((r) => r.value),
      col((r) => JSON.stringify(Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [storable(k), storable(v)])))),
      col((r) => h(r, DLQ_HEADERS.tenant)), col((r) => h(r, DLQ_HEADERS.code)), col((r) => h(r, DLQ_HEADERS.stage)), col((r) => h(r, DLQ_HEADERS.topic)),
    ],
  );
}

/**
 * Send DLQ messages one by one (each send's acknowledgement names the record's partition
 * and offset) and return them as published. In order, so per-key order holds.
 */
export async function sendDlqMessages(producer: KafkaProducer, topic: string, messages: readonly OutgoingRecord[], now: () => number = Date.now): Promise<PublishedDlqRecord[]> {
  const published: PublishedDlqRecord[] = [];
  for (const message of messages) {
    const timestamp = now();
    let meta: Acknowledgement[];
    try {
      meta = await producer.send([{ topic, records: [{ ...message, timestamp: String(timestamp) }] }]);
    } catch (err) {
      throw kafkaUnavailable(err);
    }
    const [ack] = meta;
    if (ack?.baseOffset === undefined) throw kafkaUnavailable(new Error(`No acknowledgement offset for a DLQ record of ${topic}`));
    published.push({
      partition: ack.partition, offset: ack.baseOffset, timestamp, key: message.key, value: message.value, headers: headerStrings(message.headers),
    });
  }
  return published;
}

/** Send and index (outside any transaction): for tools and tests that put records into the DLQ directly. */
export async function publishDlq(producer: KafkaProducer, pool: pg.Pool, topic: string, messages: readonly OutgoingRecord[]): Promise<PublishedDlqRecord[]> {
  const published = await sendDlqMessages(producer, topic, messages);
  await indexDlqRecords(pool, topic, published);
  return published;
}

/** The DLQ records matching the filter, from the index, in (partition, offset) order. */
export async function queryDlq(db: Queryable, topic: string, filter: DlqFilter = {}): Promise<DlqRecord[]> {
  const where = ['dlq_topic = $1'];
  const params: unknown[] = [topic];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.tenantId !== undefined) add('tenant_id = ?', filter.tenantId);
  if (filter.code !== undefined) add('code = ?', filter.code);
  if (filter.stage !== undefined) add('stage = ?', filter.stage);
  if (filter.sourceTopic !== undefined) add('source_topic = ?', filter.sourceTopic);
  if (filter.since !== undefined) add('record_time >= ?', new Date(filter.since).toISOString());
  if (filter.until !== undefined) add('record_time <= ?', new Date(filter.until).toISOString());
  if (filter.ids !== undefined) add('(dlq_partition::text || \':\' || dlq_offset::text) = ANY(?)', filter.ids);
  const { rows } = await db.query<{ dlq_partition: number; dlq_offset: string; record_time: Date; key: string | null; value: Buffer | null; headers: Record<string, string> }>(
    `SELECT dlq_partition, dlq_offset, record_time, key, value, headers FROM dlq_records WHERE ${where.join(' AND ')} ORDER BY dlq_partition, dlq_offset`,
    params,
  );
  return rows
    .map((r) => toDlqRecord(r.dlq_partition, { offset: String(r.dlq_offset), timestamp: String(r.record_time.getTime()), key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers: r.headers }))
    .filter((record) => isSelected(record, filter));
}

/**
 * Index what the DLQ topic holds (a scan of the topic, readDlq):
 * once after upgrading to the index (records published before it are not in it), or
 * after restoring the database. Idempotent (same position = same row); returns how many
 * records were read.
 */
export async function reindexDlq(kafka: KafkaClient, db: Queryable, topic: string, onProgress?: (read: number, total: number) => void): Promise<number> {
  const records = await readDlq(kafka, topic, {}, onProgress);
  for (let i = 0; i < records.length; i += 500) {
    await indexDlqRecords(db, topic, records.slice(i, i + 500).map((r) => ({ partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })));
  }
  return records.length;
}

/**
 * `acme-sync dlq skip`: the operator's escape hatch when something still wedges a
 * partition (a bug that stops the runner on one record, a record no rule foresaw).
 * It moves ONE record — by topic, partition and offset — to the DLQ and past it, for
 * every consumer group whose stored offset (PostgreSQL, the offsets that count) stands
 * exactly on it, in one transaction under the offset rows' locks (a running runner's
 * batch finishes first; its next batch sees the new offset and fences the record):
 *
 *  - the DLQ record: the original key and bytes, code OPERATOR_SKIPPED, the operator and
 *    the reason in its message and `acme-sync.skip.*` headers (`dlq list` shows it);
 *  - the DLQ index row (dlq_entries: recorded_by = the operator, note = the reason);
 *  - the ledger: received + 1, dlq + 1 for the record's tenant in each group;
 *  - next_offset = offset + 1.
 *
 * Nobody edits consumer_offsets by hand, and the good records around it are not skipped.
 */
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type pg from 'pg';
import { DLQ_HEADERS } from '../consumers/runtime/dlq.js';
import { claimDlqEntries } from '../consumers/runtime/dlq-index.js';
import { addToLedger } from '../consumers/runtime/ledger.js';
import { withTransaction } from '../db/index.js';
import { ERROR_CODES, PermanentError } from '../errors/index.js';
import { kafkaUnavailable } from '../producers/publisher.js';

export const SKIP_HEADERS = { operator: 'acme-sync.skip.operator', reason: 'acme-sync.skip.reason' } as const;

export interface SkipRequest {
  topic: string;
  partition: number;
  offset: string;
  operator: string;
  reason: string;
  /** Only this consumer group (default: every group stored exactly at the offset). */
  groupId?: string;
}

export interface SkipResult {
  groups: string[];
  tenantId: string;
  acmeId: string;
}

/** The one record at topic/partition/offset (a throw-away consumer group, deleted afterwards). */
export async function readRecordAt(kafka: Kafka, topic: string, partition: number, offset: string, timeoutMs = 30_000): Promise<KafkaMessage> {
  const groupId = `acme-sync-dlq-skip-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const p = offsets.find((o) => o.partition === partition);
    if (p === undefined || BigInt(offset) < BigInt(p.low) || BigInt(offset) >= BigInt(p.high))
      throw new PermanentError(`No record at ${topic}/${partition}@${offset} (the partition holds ${p ? `${p.low}..${BigInt(p.high) - 1n}` : 'nothing'})`, { code: ERROR_CODES.VALIDATION_FAILED });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<KafkaMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out reading ${topic}/${partition}@${offset}`)), timeoutMs);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition: at, message }) => {
            if (at === partition && message.offset === offset) {
              clearTimeout(timer);
              resolve(message);
            }
          },
        })
        .then(() => consumer.seek({ topic, partition, offset }))
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

export async function skipRecord(deps: { kafka: Kafka; pool: pg.Pool; producer: Producer; dlqTopic: string; kindOf: (topic: string) => string | undefined; now?: () => number }, request: SkipRequest): Promise<SkipResult> {
  const { topic, partition, offset } = request;
  if (request.reason.trim() === '') throw new PermanentError('--reason: say why the record is skipped', { code: ERROR_CODES.VALIDATION_FAILED });
  const message = await readRecordAt(deps.kafka, topic, partition, offset);
  const key = message.key?.toString('utf8') ?? '';
  const [tenantId = '', ...rest] = key.split(':');
  const acmeId = rest.join(':');
  const error = new PermanentError(`Skipped by ${request.operator}: ${request.reason}`, { code: ERROR_CODES.OPERATOR_SKIPPED, stage: 'sink', context: { tenantId, acmeId } });
  return withTransaction(deps.pool, async (db) => {
    const { rows } = await db.query<{ group_id: string; next_offset: string }>(
      'SELECT group_id, next_offset FROM consumer_offsets WHERE topic = $1 AND partition = $2 ORDER BY group_id FOR UPDATE',
      [topic, partition],
    );
    const stuck = rows.filter((r) => r.next_offset === offset && (request.groupId === undefined || r.group_id === request.groupId)).map((r) => r.group_id);
    if (stuck.length === 0) {
      const at = rows.map((r) => `${r.group_id} at ${r.next_offset}`).join(', ') || 'no consumer group';
      throw new PermanentError(`No consumer group stands at ${topic}/${partition}@${offset} (${at}): nothing to skip`, { code: ERROR_CODES.VALIDATION_FAILED });
    }
    await claimDlqEntries(db, [{
      tenantId, entity: deps.kindOf(topic) ?? 'record', recordId: `${topic}:${partition}:${offset}`, version: 0, error,
      sourceTopic: topic, sourcePartition: partition, sourceOffset: offset, recordedBy: request.operator, note: request.reason,
    }]);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
    Object.assign(headers, {
      [DLQ_HEADERS.topic]: topic, [DLQ_HEADERS.partition]: String(partition), [DLQ_HEADERS.offset]: offset, [DLQ_HEADERS.key]: key,
      [DLQ_HEADERS.stage]: 'sink', [DLQ_HEADERS.code]: error.code, [DLQ_HEADERS.className]: error.name, [DLQ_HEADERS.message]: error.message.slice(0, 1000),
      [DLQ_HEADERS.tenant]: tenantId, [DLQ_HEADERS.acmeId]: acmeId, [DLQ_HEADERS.schemaId]: '-1', [DLQ_HEADERS.attempts]: '0',
      [DLQ_HEADERS.consumerGroup]: stuck.join(','), [DLQ_HEADERS.consumerClientId]: `acme-sync dlq skip (${request.operator})`,
      [DLQ_HEADERS.time]: new Date((deps.now ?? Date.now)()).toISOString(),
      [SKIP_HEADERS.operator]: request.operator, [SKIP_HEADERS.reason]: request.reason.slice(0, 1000),
    });
    try {
      await deps.producer.send({ topic: deps.dlqTopic, acks: -1, messages: [{ key: message.key, value: message.value, headers }] });
    } catch (err) {
      throw kafkaUnavailable(err);
    }
    for (const groupId of stuck) {
      await addToLedger(db, groupId, new Map([[tenantId, { received: 1, written: 0, dlq: 1, skipped: 0 }]]));
      await db.query('UPDATE consumer_offsets SET next_offset = $4, updated_at = now() WHERE group_id = $1 AND topic = $2 AND partition = $3', [groupId, topic, partition, (BigInt(offset) + 1n).toString()]);
    }
    return { groups: stuck, tenantId, acmeId };
  });
}

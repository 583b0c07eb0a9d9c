/**
 * `acme-sync dlq skip`: the operator's escape hatch when something still wedges a
 * partition (a bug that stops the runner on one record, a record no rule foresaw).
 * It records ONE record — by topic, partition and offset — in `dlq_skips` with who and
 * why; every consumer group of the topic that has not consumed it yet then sends it to
 * the DLQ when it reaches it (code OPERATOR_SKIPPED, the operator and the reason in the
 * message and in `acme-sync.skip.*` headers, so `dlq list` shows them), in the same
 * transaction as its offsets and ledger, and processes the records around it as usual.
 * A runner loads the skips of a partition when it (re)joins and before every retry of
 * a failing batch, so a stopped runner resumes past it on restart.
 *
 * Nobody edits consumer_offsets by hand, and the good records of the batch are not skipped
 * (a stored offset stands at the start of a batch, not at the record that wedged it).
 */
import type { IncomingRecord, KafkaClient } from '../kafka/types.js';
import type pg from 'pg';
import { ERROR_CODES, PermanentError } from '../errors/index.js';
export { SKIP_HEADERS } from '../consumers/runtime/skips.js';

export interface SkipRequest {
  topic: string;
  partition: number;
  offset: string;
  operator: string;
  reason: string;
}

export interface SkipResult {
  tenantId: string;
  acmeId: string;
  /** Consumer groups that have not consumed the record yet (they will DLQ it). */
  pendingGroups: string[];
}

/** Record the skip; refused when the record does not exist or every group already consumed it. */
export async function skipRecord(deps: { kafka: KafkaClient; pool: pg.Pool }, request: SkipRequest): Promise<SkipResult> {
  const { topic, partition, offset } = request;
  if (request.reason.trim() === '') throw new PermanentError('--reason: say why the record is skipped', { code: ERROR_CODES.VALIDATION_FAILED });
  const message = await readRecordAt(deps.kafka, topic, partition, offset);
  const [tenantId = '', ...rest] = (message.key?.toString('utf8') ?? '').split(':');
  const { rows } = await deps.pool.query<{ group_id: string; next_offset: string }>('SELECT group_id, next_offset FROM consumer_offsets WHERE topic = $1 AND partition = $2 ORDER BY group_id', [topic, partition]);
  const pending = rows.filter((r) => BigInt(r.next_offset) <= BigInt(offset)).map((r) => r.group_id);
  if (rows.length > 0 && pending.length === 0)
    throw new PermanentError(`Every consumer group is past ${topic}/${partition}@${offset} (${rows.map((r) => `${r.group_id} at ${r.next_offset}`).join(', ')}): nothing to skip`, { code: ERROR_CODES.VALIDATION_FAILED });
  await deps.pool.query(
    'INSERT INTO dlq_skips (topic, partition, "offset", operator, reason) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (topic, partition, "offset") DO NOTHING',
    [topic, partition, offset, request.operator, request.reason],
  );
  return { tenantId, acmeId: rest.join(':'), pendingGroups: pending };
}

/** The one record at topic/partition/offset (KafkaClient.readTopic: a throw-away consumer group with kafkajs). */
export async function readRecordAt(kafka: KafkaClient, topic: string, partition: number, offset: string, timeoutMs = 30_000): Promise<IncomingRecord> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.topicOffsets(topic);
    const p = offsets.find((o) => o.partition === partition);
    if (p === undefined || BigInt(offset) < BigInt(p.low) || BigInt(offset) >= BigInt(p.high))
      throw new PermanentError(`No record at ${topic}/${partition}@${offset} (the partition holds ${p && BigInt(p.high) > BigInt(p.low) ? `${p.low}..${BigInt(p.high) - 1n}` : 'nothing'})`, { code: ERROR_CODES.VALIDATION_FAILED });
  } finally {
    await admin.disconnect();
  }
  let found: IncomingRecord | undefined;
  const until = { before: (BigInt(offset) + 1n).toString() };
  await kafka.readTopic(topic, { until, partitions: [partition], from: () => offset, timeoutMs }, (record) => {
    if (record.offset === offset) found = record;
  });
  if (found === undefined) throw new PermanentError(`No record at ${topic}/${partition}@${offset}`, { code: ERROR_CODES.VALIDATION_FAILED });
  return found;
}

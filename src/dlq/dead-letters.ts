/**
 * Dead letters written OUTSIDE the consumers: at the edge (a correctly signed webhook
 * that is not JSON or breaks the validation contract) and by the poller (a record Acme's
 * API returned that breaks it). They go to the same DLQ topic, with the same
 * `acme-sync.error.*` headers, so `acme-sync dlq list` and the settings page show them
 * like any other; the value is the original bytes (the webhook body as received, or the
 * object as Acme's API returned it), the HTTP headers that matter under
 * `acme-sync.http.*`. Source topic: none (`dlq replay` answers `no-source-topic`: the fix
 * comes from Acme, by the record's next change or a reconciliation).
 *
 * Idempotent through the DLQ index (dlq_entries): Acme's retries of one delivery (same
 * webhook-id) and every re-poll of one bad record version are one DLQ record. The index
 * row is inserted and the DLQ record acknowledged by Kafka in one PostgreSQL transaction:
 * Kafka down → rollback → the caller answers 503 and Acme retries.
 */
import type pg from 'pg';
import { DLQ_HEADERS } from '../consumers/runtime/dlq.js';
import { claimDlqEntries } from '../consumers/runtime/dlq-index.js';
import { asDatabaseError, withTransaction } from '../db/index.js';
import { AcmeSyncError } from '../errors/index.js';
import { indexDlqRecords, sendDlqMessages } from './records.js';
import type { KafkaProducer } from '../kafka/types.js';

export const HTTP_HEADER_PREFIX = 'acme-sync.http.';

export interface DeadLetter {
  tenantId: string;
  /** 'webhook' for a delivery (record ID = webhook-id), else the topic kind of the object. */
  entity: 'webhook' | 'appointments' | 'contacts' | 'activities';
  recordId: string;
  /** Acme's version when known, else 0. */
  version: number;
  /** The Acme ID when known (DLQ header acme.id). */
  acmeId?: string;
  error: AcmeSyncError;
  raw: Buffer;
  /** HTTP headers worth keeping (webhook-id, webhook-timestamp, content-type ...). */
  httpHeaders?: Record<string, string | undefined>;
}

export interface DeadLetterWriter {
  /** Resolves 'new' (written now) or 'repeat' (already in the DLQ for this reason); throws a TransientError when Kafka or PostgreSQL is down. */
  write(letter: DeadLetter): Promise<'new' | 'repeat'>;
}

export function createDeadLetterWriter(options: { pool: pg.Pool; producer: KafkaProducer; topic: string; recordedBy: 'edge' | 'poller'; now?: () => number }): DeadLetterWriter {
  const now = options.now ?? Date.now;
  return {
    async write(letter) {
      return withTransaction(options.pool, async (db) => {
        const [fresh] = await claimDlqEntries(db, [{
          tenantId: letter.tenantId, entity: letter.entity, recordId: letter.recordId, version: letter.version, error: letter.error,
          sourceTopic: null, sourcePartition: null, sourceOffset: null, recordedBy: options.recordedBy,
        }]);
        if (!fresh) return 'repeat';
        const headers: Record<string, string> = {
          [DLQ_HEADERS.topic]: '',
          [DLQ_HEADERS.partition]: '-1',
          [DLQ_HEADERS.offset]: '',
          [DLQ_HEADERS.key]: `${letter.tenantId}:${letter.acmeId ?? letter.recordId}`,
          [DLQ_HEADERS.stage]: letter.error.stage ?? 'webhook',
          [DLQ_HEADERS.code]: letter.error.code,
          [DLQ_HEADERS.className]: letter.error.name,
          [DLQ_HEADERS.message]: letter.error.message.slice(0, 1000),
          [DLQ_HEADERS.tenant]: letter.tenantId,
          [DLQ_HEADERS.acmeId]: letter.acmeId ?? '',
          [DLQ_HEADERS.schemaId]: '-1',
          [DLQ_HEADERS.attempts]: '1',
          [DLQ_HEADERS.consumerGroup]: options.recordedBy,
          [DLQ_HEADERS.consumerClientId]: options.recordedBy,
          [DLQ_HEADERS.time]: new Date(now()).toISOString(),
        };
        for (const [name, value] of Object.entries(letter.httpHeaders ?? {})) if (value !== undefined) headers[`${HTTP_HEADER_PREFIX}${name}`] = value.slice(0, 1000);
        // Indexed in dlq_records (the DLQ, queryable from PostgreSQL) in this transaction.
        const published = await sendDlqMessages(options.producer, options.topic, [{ key: headers[DLQ_HEADERS.key]!, value: letter.raw, headers }]);
        await indexDlqRecords(db, options.topic, published);
        return 'new';
      }).catch((err: unknown) => {
        throw err instanceof AcmeSyncError ? err : asDatabaseError(err);
      });
    },
  };
}

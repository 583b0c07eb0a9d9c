/**
 * The DLQ index (table dlq_entries, migration 1764700000000): what makes the DLQ
 * idempotent. A DLQ entry is keyed by (tenant, entity, record ID, version, reason);
 * `claimDlqEntries` inserts the batch's entries inside the caller's transaction and
 * returns which of them are new — only those are produced to the DLQ topic, so a bad
 * record re-read by every reconciliation pass stays one DLQ record.
 */
import { createHash } from 'node:crypto';
import type { AcmeSyncError } from '../../errors/index.js';
import type { Queryable } from '../sinks/contacts.js';

export interface DlqKey {
  tenantId: string;
  entity: string;
  recordId: string;
  version: number;
}

export interface DlqIndexEntry extends DlqKey {
  error: Pick<AcmeSyncError, 'code' | 'message' | 'stage'>;
  sourceTopic: string | null;
  sourcePartition: number | null;
  sourceOffset: string | null;
  recordedBy: string;
  note?: string | null;
}

/** "The same reason": stage, code and message (messages name the field and the rule, never a timestamp). */
export function reasonOf(error: Pick<AcmeSyncError, 'code' | 'message' | 'stage'>): string {
  return createHash('md5').update(`${error.stage ?? ''}\n${error.code}\n${error.message}`).digest('hex');
}

/**
 * PostgreSQL text cannot hold U+0000, and a reason may quote the bad input (JSON.parse's
 * message quotes the offending character): escaped, so recording a refusal never fails
 * on the very byte it refuses (found by the fuzz drill).
 */
export function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}

const keyOf = (e: DlqKey & { reason: string }) => `${e.tenantId}\u0000${e.entity}\u0000${e.recordId}\u0000${e.version}\u0000${e.reason}`;

/** Inserts the entries; returns, in order, whether each was new (false: already in the DLQ, or repeated in this call). */
export async function claimDlqEntries(db: Queryable, entries: readonly DlqIndexEntry[]): Promise<boolean[]> {
  if (entries.length === 0) return [];
  const rows = entries.map((e) => ({ ...e, tenantId: storable(e.tenantId), recordId: storable(e.recordId), reason: reasonOf(e.error) }));
  const { rows: inserted } = await db.query<{ tenant_id: string; entity: string; record_id: string; version: string; reason: string }>(
    `INSERT INTO dlq_entries (tenant_id, entity, record_id, version, reason, stage, code, message, source_topic, source_partition, source_offset, recorded_by, note)
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::bigint[], $12::text[], $13::text[])
     ON CONFLICT DO NOTHING
     RETURNING tenant_id, entity, record_id, version, reason`,
    [
      rows.map((r) => r.tenantId), rows.map((r) => r.entity), rows.map((r) => r.recordId), rows.map((r) => r.version), rows.map((r) => r.reason),
      rows.map((r) => r.error.stage ?? 'transform'), rows.map((r) => r.error.code), rows.map((r) => storable(r.error.message.slice(0, 1000))),
      rows.map((r) => r.sourceTopic), rows.map((r) => r.sourcePartition), rows.map((r) => r.sourceOffset), rows.map((r) => storable(r.recordedBy)), rows.map((r) => (r.note == null ? null : storable(r.note))),
    ],
  );
  const fresh = new Set(inserted.map((r) => keyOf({ tenantId: r.tenant_id, entity: r.entity, recordId: r.record_id, version: Number(r.version), reason: r.reason })));
  return rows.map((r) => fresh.delete(keyOf(r)));
}

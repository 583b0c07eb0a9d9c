/**
 * Records an operator skipped with `acme-sync dlq skip` (table dlq_skips): the runner
 * sends them to the DLQ instead of its flow (src/dlq/skip.ts explains the escape hatch).
 */
import { ERROR_CODES, PermanentError } from '../../errors/index.js';
import type { Queryable } from '../sinks/contacts.js';
import type { DlqEntry, InboundRecord } from './types.js';

export const SKIP_HEADERS = { operator: 'acme-sync.skip.operator', reason: 'acme-sync.skip.reason', at: 'acme-sync.skip.time' } as const;

export interface Skip {
  operator: string;
  reason: string;
  at: string;
}

/** The skips of a partition at or above an offset, by offset. */
export async function readSkips(db: Queryable, topic: string, partition: number, from: string | null): Promise<Map<string, Skip>> {
  const { rows } = await db.query<{ offset: string; operator: string; reason: string; created_at: Date }>(
    'SELECT "offset", operator, reason, created_at FROM dlq_skips WHERE topic = $1 AND partition = $2 AND "offset" >= $3',
    [topic, partition, from ?? '0'],
  );
  return new Map(rows.map((r) => [String(r.offset), { operator: r.operator, reason: r.reason, at: r.created_at.toISOString() }]));
}

export function skippedEntry(record: InboundRecord, skip: Skip): DlqEntry {
  const [tenantId = '', ...rest] = (record.key ?? '').split(':');
  return {
    record: { ...record, headers: { ...record.headers, [SKIP_HEADERS.operator]: skip.operator, [SKIP_HEADERS.reason]: skip.reason.slice(0, 1000), [SKIP_HEADERS.at]: skip.at } },
    error: new PermanentError(`Skipped by ${skip.operator}: ${skip.reason}`, { code: ERROR_CODES.OPERATOR_SKIPPED, stage: 'sink', context: { tenantId, acmeId: rest.join(':') } }),
  };
}

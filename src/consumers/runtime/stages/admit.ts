/**
 * Stage admit/fence: which records of a batch this member may hand to its flow.
 *  - fence: records below the offset stored in PostgreSQL are done already (a zombie
 *    member's redelivery, kafkajs#1046) and are dropped, counted as `fenced`;
 *  - operator skips (`acme-sync dlq skip`) go to the DLQ as OPERATOR_SKIPPED;
 *  - a record of a tenant we do not know goes to the DLQ (UNKNOWN_TENANT, stage validate);
 *    the tenant lookup failing (PostgreSQL, Acme) is retriable: the batch is retried.
 */
import { ERROR_CODES, PermanentError } from '../../../errors/index.js';
import { identityOf } from '../dlq.js';
import { isBelow } from '../offsets.js';
import { skippedEntry, type Skip } from '../skips.js';
import type { DlqEntry, FlowContext, InboundRecord } from '../types.js';

export function fence(records: readonly InboundRecord[], stored: string | null): { live: InboundRecord[]; fenced: number } {
  const live = records.filter((r) => !isBelow(r.offset, stored));
  return { live, fenced: records.length - live.length };
}

/** Splits off the records an operator skipped, as DLQ entries. */
export function applySkips(records: InboundRecord[], skips: ReadonlyMap<string, Skip> | undefined): { kept: InboundRecord[]; skipped: DlqEntry[] } {
  if (skips === undefined || skips.size === 0) return { kept: records, skipped: [] };
  return { kept: records.filter((r) => !skips.has(r.offset)), skipped: records.filter((r) => skips.has(r.offset)).map((r) => skippedEntry(r, skips.get(r.offset)!)) };
}

export async function admitTenants(context: FlowContext, records: readonly InboundRecord[]): Promise<{ ok: InboundRecord[]; dlq: DlqEntry[] }> {
  const ok: InboundRecord[] = [];
  const dlq: DlqEntry[] = [];
  await context.tenants.preload?.({ tenantIds: records.map((record) => identityOf(record).tenantId) });
  for (const record of records) {
    const tenantId = identityOf(record).tenantId;
    if ((await context.tenants.get(tenantId)) === undefined) {
      dlq.push({ record, error: new PermanentError(`Unknown tenant ${JSON.stringify(tenantId)}`, { code: ERROR_CODES.UNKNOWN_TENANT, stage: 'validate', context: { tenantId } }) });
    } else ok.push(record);
  }
  return { ok, dlq };
}

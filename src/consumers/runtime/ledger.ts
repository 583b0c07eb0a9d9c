/**
 * Per consumer group and tenant: received = written + dlq + skipped. Incremented in
 * the transaction that stores the offsets, so redelivered records are never counted
 * twice and the ledger balances after any crash.
 */
import type { Queryable } from '../sinks/contacts.js';

export interface LedgerCounts {
  received: number;
  written: number;
  dlq: number;
  skipped: number;
}

export interface LedgerRow extends LedgerCounts {
  groupId: string;
  tenantId: string;
}

export const EMPTY_COUNTS: Readonly<LedgerCounts> = Object.freeze({ received: 0, written: 0, dlq: 0, skipped: 0 });

export function addCounts(a: Readonly<LedgerCounts>, b: Partial<LedgerCounts>): LedgerCounts {
  return { received: a.received + (b.received ?? 0), written: a.written + (b.written ?? 0), dlq: a.dlq + (b.dlq ?? 0), skipped: a.skipped + (b.skipped ?? 0) };
}

/** How many items fall on each key. */
export function countBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export function isBalanced(c: Readonly<LedgerCounts>): boolean {
  return c.received === c.written + c.dlq + c.skipped;
}

export async function addToLedger(db: Queryable, groupId: string, counts: ReadonlyMap<string, LedgerCounts>): Promise<void> {
  if (counts.size === 0) return;
  const tenants = [...counts.keys()].sort();
  const col = (k: keyof LedgerCounts) => tenants.map((t) => counts.get(t)![k]);
  await db.query(
    `INSERT INTO consumer_ledger AS l (group_id, tenant_id, received, written, dlq, skipped)
     SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
     ON CONFLICT (group_id, tenant_id) DO UPDATE SET received = l.received + EXCLUDED.received, written = l.written + EXCLUDED.written,
       dlq = l.dlq + EXCLUDED.dlq, skipped = l.skipped + EXCLUDED.skipped, updated_at = now()`,
    [groupId, tenants, col('received'), col('written'), col('dlq'), col('skipped')],
  );
}

export async function readLedger(db: Queryable, groupId: string): Promise<LedgerRow[]> {
  const { rows } = await db.query<{ group_id: string; tenant_id: string; received: string; written: string; dlq: string; skipped: string }>(
    'SELECT * FROM consumer_ledger WHERE group_id = $1 ORDER BY tenant_id',
    [groupId],
  );
  return rows.map((r) => ({ groupId: r.group_id, tenantId: r.tenant_id, received: Number(r.received), written: Number(r.written), dlq: Number(r.dlq), skipped: Number(r.skipped) }));
}

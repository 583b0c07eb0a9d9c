/**
 * The write-back consumer's tables (migrations/1764900000000_writeback.sql): the state
 * per Acme appointment (our chain of versions, the last calendar version applied), one
 * row per handled change, and the conflict records. Written in the runner's transaction.
 */
import type { Queryable } from '../sinks/contacts.js';
import type { WritebackState } from '../../transforms/writeback.js';
import type { ConflictPolicy } from '../../tenants/types.js';

export type ChangeOutcome = 'applied' | 'conflict' | 'echo_suppressed' | 'duplicate' | 'stale' | 'not_synced';

export interface HandledChange {
  tenantId: string;
  changeId: string;
  acmeId: string;
  calendarVersion: number;
  outcome: ChangeOutcome;
  acmeVersion: number | null;
  idempotencyKey: string | null;
  changedAt: number;
  ackedAt: number | null;
}

export interface ConflictRecord {
  tenantId: string;
  acmeId: string;
  changeId: string;
  policy: ConflictPolicy;
  winner: 'acme' | 'calendar';
  baseAcmeVersion: number | null;
  acmeVersion: number;
  finalAcmeVersion: number;
  calendarChangedAt: number;
  acmeUpdatedAt: number | null;
  fields: string[];
}

const stateKey = (tenantId: string, acmeId: string) => `${tenantId}\u0000${acmeId}`;

export async function readStates(db: Queryable, keys: readonly { tenantId: string; acmeId: string }[]): Promise<Map<string, WritebackState>> {
  const out = new Map<string, WritebackState>();
  if (keys.length === 0) return out;
  const { rows } = await db.query<{ tenant_id: string; acme_id: string; last_change_id: string; last_calendar_version: string; chain_base: string | null; acme_version: string | null }>(
    `SELECT tenant_id, acme_id, last_change_id, last_calendar_version, chain_base, acme_version FROM writeback_state
     WHERE (tenant_id, acme_id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))`,
    [keys.map((k) => k.tenantId), keys.map((k) => k.acmeId)],
  );
  for (const r of rows) {
    out.set(stateKey(r.tenant_id, r.acme_id), {
      lastChangeId: r.last_change_id,
      lastCalendarVersion: Number(r.last_calendar_version),
      chainBase: r.chain_base === null ? null : Number(r.chain_base),
      acmeVersion: r.acme_version === null ? null : Number(r.acme_version),
    });
  }
  return out;
}

export { stateKey };

/** Upserts in key order (one lock order for concurrent batches); never moves a calendar version back. */
export async function writeStates(db: Queryable, states: ReadonlyMap<string, { tenantId: string; acmeId: string; state: WritebackState }>): Promise<void> {
  const list = [...states.values()].sort((a, b) => (stateKey(a.tenantId, a.acmeId) < stateKey(b.tenantId, b.acmeId) ? -1 : 1));
  if (list.length === 0) return;
  await db.query(
    `INSERT INTO writeback_state (tenant_id, acme_id, last_change_id, last_calendar_version, chain_base, acme_version)
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
     ON CONFLICT (tenant_id, acme_id) DO UPDATE SET
       last_change_id = EXCLUDED.last_change_id, last_calendar_version = EXCLUDED.last_calendar_version,
       chain_base = EXCLUDED.chain_base, acme_version = EXCLUDED.acme_version, updated_at = now()
     WHERE writeback_state.last_calendar_version <= EXCLUDED.last_calendar_version`,
    [
      list.map((s) => s.tenantId), list.map((s) => s.acmeId), list.map((s) => s.state.lastChangeId), list.map((s) => s.state.lastCalendarVersion),
      list.map((s) => s.state.chainBase), list.map((s) => s.state.acmeVersion),
    ],
  );
}

export async function recordChanges(db: Queryable, changes: readonly HandledChange[]): Promise<void> {
  if (changes.length === 0) return;
  await db.query(
    `INSERT INTO writeback_changes (tenant_id, change_id, acme_id, calendar_version, outcome, acme_version, idempotency_key, changed_at, acked_at)
     SELECT t, c, a, v, o, av, k, to_timestamp(ca / 1000.0), CASE WHEN ack IS NULL THEN NULL ELSE to_timestamp(ack / 1000.0) END
     FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::float8[], $9::float8[]) AS x(t, c, a, v, o, av, k, ca, ack)
     ON CONFLICT (tenant_id, change_id) DO NOTHING`,
    [
      changes.map((c) => c.tenantId), changes.map((c) => c.changeId), changes.map((c) => c.acmeId), changes.map((c) => c.calendarVersion),
      changes.map((c) => c.outcome), changes.map((c) => c.acmeVersion), changes.map((c) => c.idempotencyKey), changes.map((c) => c.changedAt), changes.map((c) => c.ackedAt),
    ],
  );
}

export async function recordConflicts(db: Queryable, conflicts: readonly ConflictRecord[]): Promise<void> {
  for (const c of conflicts) {
    await db.query(
      `INSERT INTO writeback_conflicts (tenant_id, acme_id, change_id, policy, winner, base_acme_version, acme_version, final_acme_version, calendar_changed_at, acme_updated_at, fields)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9 / 1000.0), CASE WHEN $10::float8 IS NULL THEN NULL ELSE to_timestamp($10::float8 / 1000.0) END, $11)
       ON CONFLICT (tenant_id, change_id) DO NOTHING`,
      [c.tenantId, c.acmeId, c.changeId, c.policy, c.winner, c.baseAcmeVersion, c.acmeVersion, c.finalAcmeVersion, c.calendarChangedAt, c.acmeUpdatedAt, c.fields],
    );
  }
}

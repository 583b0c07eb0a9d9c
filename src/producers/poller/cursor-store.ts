/**
 * Poll cursors in PostgreSQL: per tenant and object type, the `updated_at` up to which
 * every record has been acknowledged by Kafka (or written, for users). A cursor only
 * moves forward (GREATEST), so a backfill, a poll and a reconciliation racing on one
 * tenant can never move it back, and a late writer cannot skip anyone's records.
 */
import type pg from 'pg';
import type { AcmeObjectType } from '../../acme/types.js';

export interface PollCursor {
  /** ISO instant; null = never polled (read everything). */
  updatedSince: string | null;
  polledAt: string | null;
  reconciledAt: string | null;
}

export interface CursorStore {
  get(tenantId: string, type: AcmeObjectType): Promise<PollCursor>;
  /** Move the cursor forward to `updatedSince` (never back) and record the poll time. */
  advance(tenantId: string, type: AcmeObjectType, updatedSince: string | null): Promise<void>;
  markReconciled(tenantId: string, type: AcmeObjectType, at: string): Promise<void>;
}

interface Row {
  updated_since: Date | null;
  polled_at: Date | null;
  reconciled_at: Date | null;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function createCursorStore(pool: pg.Pool): CursorStore {
  return {
    async get(tenantId, type) {
      const { rows } = await pool.query<Row>('SELECT updated_since, polled_at, reconciled_at FROM poll_cursors WHERE tenant_id = $1 AND object_type = $2', [tenantId, type]);
      const r = rows[0];
      return { updatedSince: iso(r?.updated_since ?? null), polledAt: iso(r?.polled_at ?? null), reconciledAt: iso(r?.reconciled_at ?? null) };
    },
    async advance(tenantId, type, updatedSince) {
      await pool.query(
        `INSERT INTO poll_cursors (tenant_id, object_type, updated_since, polled_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (tenant_id, object_type) DO UPDATE
           SET updated_since = GREATEST(poll_cursors.updated_since, EXCLUDED.updated_since), polled_at = now(), updated_at = now()`,
        [tenantId, type, updatedSince],
      );
    },
    async markReconciled(tenantId, type, at) {
      await pool.query(
        `INSERT INTO poll_cursors (tenant_id, object_type, reconciled_at) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, object_type) DO UPDATE SET reconciled_at = GREATEST(poll_cursors.reconciled_at, EXCLUDED.reconciled_at), updated_at = now()`,
        [tenantId, type, at],
      );
    },
  };
}

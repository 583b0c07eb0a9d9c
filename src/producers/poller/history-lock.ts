/**
 * One reader of a tenant's history at a time (issue 17). Activation once started a
 * backfill and the first poll at the same moment, and the poll (cursor never set) read
 * the tenant's whole history a second time.
 *
 * A PostgreSQL session-level advisory lock per tenant, so it holds across processes (the
 * admin process, `acme-sync backfill`) and dies with a crashed holder's connection:
 *  - a backfill holds it EXCLUSIVELY for its whole run (waiting for polls and
 *    reconciliations in flight to finish first);
 *  - a poll or a reconciliation holds it SHARED for its pass and skips the tenant when it
 *    cannot have it at once, or when a backfill of the tenant is still queued.
 * The two-key form (class, schemaKey(tenant)) lives in its own key space, apart from the
 * calendar flow's one-key locks (PostgreSQL docs, "Advisory Locks").
 */
import type pg from 'pg';
import { schemaKey } from '../../db/advisory.js';

/** Our class of advisory locks: "tenant history" (any constant unused elsewhere). */
const HISTORY_LOCK_CLASS = 17_017;

export type HistoryLockMode = 'shared' | 'exclusive';

export interface HistoryLock {
  readonly client: pg.PoolClient;
  release(): Promise<void>;
}

const TENANT = schemaKey('$2');
const TRY = {
  shared: `SELECT pg_try_advisory_lock_shared($1, ${TENANT}) AS ok`,
  exclusive: `SELECT pg_try_advisory_lock($1, ${TENANT}) AS ok`,
} as const;
const UNLOCK = {
  shared: `SELECT pg_advisory_unlock_shared($1, ${TENANT})`,
  exclusive: `SELECT pg_advisory_unlock($1, ${TENANT})`,
} as const;

/** The lock now, or undefined when another reader holds it in a conflicting mode. */
export async function tryHistoryLock(pool: pg.Pool, tenantId: string, mode: HistoryLockMode): Promise<HistoryLock | undefined> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>(TRY[mode], [HISTORY_LOCK_CLASS, tenantId]);
    if (rows[0]?.ok === true) return held(client, tenantId, mode);
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
  client.release();
  return undefined;
}

function held(client: pg.PoolClient, tenantId: string, mode: HistoryLockMode): HistoryLock {
  let released = false;
  return {
    client,
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query(UNLOCK[mode], [HISTORY_LOCK_CLASS, tenantId]);
        client.release();
      } catch (err) {
        // A connection whose unlock failed may still hold the lock: destroy it, which ends the session and its locks.
        client.release(err as Error);
      }
    },
  };
}

/**
 * Wait for the exclusive lock (polls and reconciliations in flight finish their pass),
 * trying every `intervalMs`; an abort rejects with the signal's reason.
 */
export async function waitForExclusiveHistoryLock(pool: pg.Pool, tenantId: string, options: { signal?: AbortSignal; intervalMs?: number } = {}): Promise<HistoryLock> {
  for (;;) {
    options.signal?.throwIfAborted();
    const lock = await tryHistoryLock(pool, tenantId, 'exclusive');
    if (lock) return lock;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs ?? 200);
      options.signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }
}

/** Is a backfill of this tenant waiting in the queue (it will read the history; a poll now would read it too)? */
export async function hasQueuedBackfill(db: Pick<pg.ClientBase, 'query'>, tenantId: string): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM backfill_runs WHERE tenant_id = $1 AND status = 'queued' LIMIT 1", [tenantId]);
  return rows.length > 0;
}

/**
 * Lock waits during a drain (issue 14's target "no lock waits across a Kafka round trip",
 * shown before and after the outbox): PostgreSQL's pg_locks sampled every `intervalMs`,
 * counting the backends of THIS benchmark's schema (the stack is shared with other
 * schemas) that wait for a lock. A backend waiting for a row held by another transaction
 * waits on that transaction's ID (or a tuple lock), which names no relation; it is ours
 * when it holds a granted lock on a relation of our schema.
 * Result: backend-milliseconds spent waiting ≈ Σ waiting backends per sample × interval.
 */
import pg from 'pg';

const WAITING = `
  SELECT count(DISTINCT w.pid)::int AS n
  FROM pg_locks w
  WHERE NOT w.granted AND EXISTS (
    SELECT 1 FROM pg_locks g JOIN pg_class c ON c.oid = g.relation JOIN pg_namespace s ON s.oid = c.relnamespace
    WHERE g.pid = w.pid AND g.granted AND s.nspname = $1)`;

export interface LockWaits {
  /** Backend-milliseconds spent waiting for locks (sampled). */
  waitMs: number;
  /** Share of samples with at least one backend waiting. */
  share: number;
  samples: number;
}

/** Start sampling on a connection of its own (not one of the drain's pool). */
export function sampleLockWaits(databaseUrl: string, schema: string, intervalMs = 20): { stop(): Promise<LockWaits> } {
  let waiting = 0;
  let busy = 0;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      while (!stopped) {
        const started = performance.now();
        const { rows } = await client.query<{ n: number }>(WAITING, [schema]);
        const n = rows[0]?.n ?? 0;
        samples++;
        waiting += n;
        if (n > 0) busy++;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (performance.now() - started))));
      }
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { waitMs: waiting * intervalMs, share: samples === 0 ? NaN : busy / samples, samples };
    },
  };
}

/**
 * Backfill: read a tenant's whole history since a date (source BACKFILL), page by page,
 * each page acknowledged by Kafka before the next is read. Progress (pages, records per
 * type) is kept in `backfill_runs`, so the admin API in any process can show it. The
 * poll cursors move forward with it (never back), so polling continues where it ends.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AcmeClient } from '../../acme/client.js';
import type { AcmeObjectType } from '../../acme/types.js';
import { toAcmeSyncError } from '../../errors/index.js';
import type { Logger } from '../../logger.js';
import type { TenantRepository } from '../../tenants/repository.js';
import type { EventPublisher } from '../publisher.js';
import { createCursorStore } from './cursor-store.js';
import { POLL_TYPES } from './poller.js';
import { syncCollection } from './sync.js';

export type BackfillStatus = 'running' | 'succeeded' | 'failed';

export interface BackfillProgress {
  runId: string;
  tenantId: string;
  since: string | null;
  status: BackfillStatus;
  pages: number;
  records: number;
  byType: Partial<Record<AcmeObjectType, number>>;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface BackfillDeps {
  pool: pg.Pool;
  tenants: TenantRepository;
  publisher: EventPublisher;
  clientFor: (tenantId: string) => AcmeClient;
  logger?: Logger;
  pageSize?: number;
  now?: () => number;
}

export interface BackfillInput {
  tenantId: string;
  /** ISO date or instant; null = everything. */
  since: string | null;
  runId?: string;
  types?: readonly AcmeObjectType[];
  /** Called once the run is recorded (readable by GET /backfill). */
  onStarted?: (progress: BackfillProgress) => void;
  onProgress?: (progress: BackfillProgress, page: { type: AcmeObjectType; records: number }) => void;
  signal?: AbortSignal;
}

interface Row {
  id: string;
  tenant_id: string;
  since: Date | null;
  status: BackfillStatus;
  pages: number;
  records: number;
  by_type: Partial<Record<AcmeObjectType, number>>;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

function toProgress(r: Row): BackfillProgress {
  return {
    runId: r.id, tenantId: r.tenant_id, since: r.since?.toISOString() ?? null, status: r.status, pages: r.pages, records: r.records,
    byType: r.by_type, error: r.error, startedAt: r.started_at.toISOString(), finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export async function latestBackfill(pool: pg.Pool, tenantId: string): Promise<BackfillProgress | undefined> {
  const { rows } = await pool.query<Row>('SELECT * FROM backfill_runs WHERE tenant_id = $1 ORDER BY started_at DESC, id LIMIT 1', [tenantId]);
  return rows[0] && toProgress(rows[0]);
}

async function save(pool: pg.Pool, p: BackfillProgress): Promise<void> {
  await pool.query(
    `UPDATE backfill_runs SET status = $2, pages = $3, records = $4, by_type = $5, error = $6, finished_at = $7 WHERE id = $1`,
    [p.runId, p.status, p.pages, p.records, p.byType, p.error, p.finishedAt],
  );
}

/** Run a backfill to its end; resolves with the final progress (status failed instead of throwing). */
export async function runBackfill(deps: BackfillDeps, input: BackfillInput): Promise<BackfillProgress> {
  const now = deps.now ?? Date.now;
  const since = input.since === null ? null : new Date(input.since).toISOString();
  const runId = input.runId ?? randomUUID();
  const { rows } = await deps.pool.query<Row>(
    `INSERT INTO backfill_runs (id, tenant_id, since, status) VALUES ($1, $2, $3, 'running') RETURNING *`,
    [runId, input.tenantId, since],
  );
  const progress = toProgress(rows[0]!);
  input.onStarted?.(progress);
  const cursors = createCursorStore(deps.pool);
  try {
    for (const type of input.types ?? POLL_TYPES) {
      await syncCollection({
        client: deps.clientFor(input.tenantId), tenantId: input.tenantId, type, since, source: 'BACKFILL', publisher: deps.publisher,
        tenants: deps.tenants, now, pageSize: deps.pageSize, correlationId: `backfill:${runId}`, logger: deps.logger, signal: input.signal,
        onPage: async (page) => {
          progress.pages++;
          progress.records += page.records;
          progress.byType[type] = (progress.byType[type] ?? 0) + page.records;
          await cursors.advance(input.tenantId, type, page.maxUpdatedAt);
          await save(deps.pool, progress);
          input.onProgress?.(progress, { type, records: page.records });
        },
      });
    }
    progress.status = 'succeeded';
  } catch (err) {
    const e = toAcmeSyncError(err, 'poll', { tenantId: input.tenantId });
    deps.logger?.warn({ err: e, tenantId: input.tenantId, runId }, 'backfill failed');
    progress.status = 'failed';
    progress.error = `${e.code}: ${e.message}`;
  }
  progress.finishedAt = new Date(now()).toISOString();
  await save(deps.pool, progress);
  return progress;
}

export interface BackfillRunner {
  /** Start a backfill in the background; resolves once its run is recorded. */
  start(tenantId: string, since: string | null): Promise<{ runId: string; done: Promise<BackfillProgress> }>;
  latest(tenantId: string): Promise<BackfillProgress | undefined>;
  /** Wait for the backfills this runner started. */
  close(): Promise<void>;
}

export function createBackfillRunner(deps: BackfillDeps): BackfillRunner {
  const inFlight = new Set<Promise<BackfillProgress>>();
  const abort = new AbortController();
  return {
    async start(tenantId, since) {
      const runId = randomUUID();
      let recorded!: () => void;
      const started = new Promise<void>((resolve) => (recorded = resolve));
      const done = runBackfill(deps, { tenantId, since, runId, signal: abort.signal, onStarted: () => recorded() });
      // A failure before the run is recorded (the INSERT) rejects `done`; surface it to the caller.
      await Promise.race([started, done]);
      const tracked = done.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return { runId, done: tracked };
    },
    latest: (tenantId) => latestBackfill(deps.pool, tenantId),
    async close() {
      abort.abort(new Error('backfill runner closed'));
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Backfill: read a tenant's whole history since a date (source BACKFILL), page by page,
 * each page acknowledged by Kafka before the next is read. Progress (pages, records per
 * type) is kept in `backfill_runs`, so the admin API in any process can show it. The
 * poll cursors move forward with it (never back), so polling continues where it ends.
 *
 * Issue 17 (onboarding at scale): a run is recorded 'queued' first; it becomes 'running'
 * once it holds the tenant's history lock exclusively (src/producers/poller/history-lock.ts),
 * so polls and reconciliations of the tenant neither overlap it nor start before it
 * reached the present; each type's cursor ends where the backfill ended (at least at
 * `since`, so the first poll never reads what the backfill deliberately left out). The
 * runner caps the backfills running at once (BACKFILL_CONCURRENCY); the rest wait in
 * order, with their position visible.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AcmeClient } from '../../acme/client.js';
import { historyClient, type RateBudget } from '../../acme/rate-budget.js';
import type { AcmeObjectType } from '../../acme/types.js';
import { toAcmeSyncError } from '../../errors/index.js';
import type { Logger } from '../../logger.js';
import type { TenantRepository } from '../../tenants/repository.js';
import type { EventPublisher } from '../publisher.js';
import { gauge, type Registry } from '../../metrics/index.js';
import { createCursorStore } from './cursor-store.js';
import { tryHistoryLock, waitForExclusiveHistoryLock, type HistoryLock } from './history-lock.js';
import { POLL_TYPES } from './poller.js';
import { syncCollection } from './sync.js';

export type BackfillStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface BackfillProgress {
  runId: string;
  tenantId: string;
  since: string | null;
  status: BackfillStatus;
  pages: number;
  records: number;
  byType: Partial<Record<AcmeObjectType, number>>;
  error: string | null;
  /** When the run was requested (queued). */
  startedAt: string;
  /** When it left the queue and began reading; null while queued. */
  runningAt: string | null;
  finishedAt: string | null;
  /** 1-based place in the queue of waiting backfills (all tenants) while queued; null otherwise. */
  queuePosition: number | null;
}

export interface BackfillDeps {
  pool: pg.Pool;
  tenants: TenantRepository;
  publisher: EventPublisher;
  clientFor: (tenantId: string) => AcmeClient;
  /** Connections that hold tenants' history locks (see PollerDeps.lockPool). Default: `pool`. */
  lockPool?: pg.Pool;
  /** Acme's rate budget: backfill pages leave the live reserve alone (src/acme/rate-budget.ts). */
  rateBudget?: RateBudget;
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
  running_at: Date | null;
  finished_at: Date | null;
  queue_position?: string | null;
}

function toProgress(r: Row): BackfillProgress {
  return {
    runId: r.id, tenantId: r.tenant_id, since: r.since?.toISOString() ?? null, status: r.status, pages: r.pages, records: r.records,
    byType: r.by_type, error: r.error, startedAt: r.started_at.toISOString(), runningAt: r.running_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null, queuePosition: r.queue_position == null ? null : Number(r.queue_position),
  };
}

/** A queued run's place: the queued runs requested before it (any tenant), plus one. */
const WITH_POSITION = `SELECT b.*, CASE WHEN b.status = 'queued' THEN (
    SELECT count(*) + 1 FROM backfill_runs q WHERE q.status = 'queued' AND (q.started_at, q.id) < (b.started_at, b.id)) END AS queue_position
  FROM backfill_runs b`;

export async function latestBackfill(pool: pg.Pool, tenantId: string): Promise<BackfillProgress | undefined> {
  const { rows } = await pool.query<Row>(`${WITH_POSITION} WHERE b.tenant_id = $1 ORDER BY b.started_at DESC, b.id LIMIT 1`, [tenantId]);
  return rows[0] && toProgress(rows[0]);
}

async function latestRun(pool: pg.Pool, runId: string): Promise<BackfillProgress | undefined> {
  const { rows } = await pool.query<Row>(`${WITH_POSITION} WHERE b.id = $1`, [runId]);
  return rows[0] && toProgress(rows[0]);
}

/** Every queued or running backfill, in queue order (running first), with positions. */
export async function activeBackfills(pool: pg.Pool): Promise<BackfillProgress[]> {
  const { rows } = await pool.query<Row>(`${WITH_POSITION} WHERE b.status IN ('queued', 'running') ORDER BY b.status = 'queued', b.started_at, b.id`);
  return rows.map(toProgress);
}

async function save(pool: pg.Pool, p: BackfillProgress): Promise<void> {
  await pool.query(
    `UPDATE backfill_runs SET status = $2, pages = $3, records = $4, by_type = $5, error = $6, finished_at = $7, running_at = $8 WHERE id = $1`,
    [p.runId, p.status, p.pages, p.records, p.byType, p.error, p.finishedAt, p.runningAt],
  );
}

/** Record a run as queued; it reads nothing yet. */
export async function enqueueBackfill(pool: pg.Pool, input: { tenantId: string; since: string | null; runId?: string }): Promise<BackfillProgress> {
  const since = input.since === null ? null : new Date(input.since).toISOString();
  const { rows } = await pool.query<Row>(
    `INSERT INTO backfill_runs (id, tenant_id, since, status) VALUES ($1, $2, $3, 'queued') RETURNING *`,
    [input.runId ?? randomUUID(), input.tenantId, since],
  );
  return toProgress(rows[0]!);
}

/**
 * Run a queued backfill to its end: wait for the tenant's history lock (a poll or a
 * reconciliation in flight finishes first), read every type, release. Resolves with the
 * final progress (status failed instead of throwing).
 */
export async function executeBackfill(deps: BackfillDeps, progress: BackfillProgress, input: Omit<BackfillInput, 'tenantId' | 'since' | 'runId' | 'onStarted'> = {}): Promise<BackfillProgress> {
  const now = deps.now ?? Date.now;
  const { tenantId, runId, since } = progress;
  const cursors = createCursorStore(deps.pool);
  let lock: HistoryLock | undefined;
  try {
    lock = await waitForExclusiveHistoryLock(deps.lockPool ?? deps.pool, tenantId, { signal: input.signal });
    // Claimed under the lock: another process resuming the same queued run finds it taken.
    const claimed = await deps.pool.query(`UPDATE backfill_runs SET status = 'running', running_at = now() WHERE id = $1 AND status = 'queued' RETURNING running_at`, [runId]);
    if (claimed.rowCount === 0) {
      await lock.release();
      return (await latestRun(deps.pool, runId)) ?? progress;
    }
    progress.status = 'running';
    progress.runningAt = (claimed.rows[0] as { running_at: Date }).running_at.toISOString();
    progress.queuePosition = null;
    for (const type of input.types ?? POLL_TYPES) {
      const result = await syncCollection({
        client: historyClient(deps.clientFor(tenantId), deps.rateBudget, input.signal), tenantId, type, since, source: 'BACKFILL', publisher: deps.publisher,
        tenants: deps.tenants, now, pageSize: deps.pageSize, correlationId: `backfill:${runId}`, logger: deps.logger, signal: input.signal,
        onPage: async (page) => {
          progress.pages++;
          progress.records += page.records;
          progress.byType[type] = (progress.byType[type] ?? 0) + page.records;
          await cursors.advance(tenantId, type, page.maxUpdatedAt);
          await save(deps.pool, progress);
          input.onProgress?.(progress, { type, records: page.records });
        },
      });
      // Polling starts where the backfill ended: at least at `since` for a type with nothing newer (issue 17).
      if (result.maxUpdatedAt === null && since !== null) await cursors.advance(tenantId, type, since);
    }
    progress.status = 'succeeded';
  } catch (err) {
    const e = toAcmeSyncError(err, 'poll', { tenantId });
    deps.logger?.warn({ err: e, tenantId, runId }, 'backfill failed');
    progress.status = 'failed';
    progress.error = `${e.code}: ${e.message}`;
  }
  progress.finishedAt = new Date(now()).toISOString();
  progress.queuePosition = null;
  try {
    await save(deps.pool, progress);
  } finally {
    // Released after the final status is stored: a poll that gets the lock sees no running backfill.
    await lock?.release();
  }
  return progress;
}

/** Run a backfill to its end, now (no queue): `acme-sync backfill`. */
export async function runBackfill(deps: BackfillDeps, input: BackfillInput): Promise<BackfillProgress> {
  const progress = await enqueueBackfill(deps.pool, input);
  input.onStarted?.(progress);
  return executeBackfill(deps, progress, input);
}

export interface BackfillRunner {
  /** Queue a backfill (it runs when a slot is free); resolves once its run is recorded. */
  start(tenantId: string, since: string | null): Promise<{ runId: string; done: Promise<BackfillProgress> }>;
  latest(tenantId: string): Promise<BackfillProgress | undefined>;
  /**
   * Pick up what a previous process left: its queued runs join this queue (in order), and a
   * 'running' run whose holder is gone (its history lock is free) is marked failed.
   */
  resume(): Promise<void>;
  /** Stop: running backfills are aborted (their cursors keep what was read), queued ones stay queued for the next process. */
  close(): Promise<void>;
}

export interface BackfillRunnerDeps extends BackfillDeps {
  /** Backfills running at once in this process (BACKFILL_CONCURRENCY); the rest wait in the queue. */
  concurrency?: number;
  metrics?: Registry;
}

interface Job {
  progress: BackfillProgress;
  settle: (p: BackfillProgress) => void;
}

export function createBackfillRunner(deps: BackfillRunnerDeps): BackfillRunner {
  const cap = deps.concurrency ?? 2;
  const waiting: Job[] = [];
  const known = new Set<string>();
  const inFlight = new Set<Promise<BackfillProgress>>();
  const abort = new AbortController();
  const gauge = deps.metrics ? backfillGauge(deps.metrics) : undefined;
  let running = 0;
  let closed = false;

  const report = () => {
    gauge?.set({ state: 'queued' }, waiting.length);
    gauge?.set({ state: 'running' }, running);
  };

  function pump(): void {
    while (!closed && running < cap && waiting.length > 0) {
      const job = waiting.shift()!;
      running++;
      const run = executeBackfill(deps, job.progress, { signal: abort.signal })
        .then((p) => (job.settle(p), p))
        .finally(() => {
          running--;
          known.delete(job.progress.runId);
          inFlight.delete(run);
          report();
          pump();
        });
      inFlight.add(run);
    }
    report();
  }

  function add(progress: BackfillProgress): Promise<BackfillProgress> {
    known.add(progress.runId);
    const done = new Promise<BackfillProgress>((settle) => waiting.push({ progress, settle }));
    pump();
    return done;
  }

  return {
    async start(tenantId, since) {
      const progress = await enqueueBackfill(deps.pool, { tenantId, since });
      return { runId: progress.runId, done: add(progress) };
    },
    latest: (tenantId) => latestBackfill(deps.pool, tenantId),
    async resume() {
      for (const p of await activeBackfills(deps.pool)) {
        if (known.has(p.runId)) continue;
        if (p.status === 'queued') {
          void add(p);
          continue;
        }
        const lock = await tryHistoryLock(deps.lockPool ?? deps.pool, p.tenantId, 'exclusive');
        if (lock === undefined) continue; // its process is alive and reading
        try {
          await deps.pool.query(
            `UPDATE backfill_runs SET status = 'failed', error = 'INTERRUPTED: the process running it stopped', finished_at = now() WHERE id = $1 AND status = 'running'`,
            [p.runId],
          );
        } finally {
          await lock.release();
        }
      }
    },
    async close() {
      closed = true;
      abort.abort(new Error('backfill runner closed'));
      await Promise.allSettled([...inFlight]);
      for (const job of waiting.splice(0)) job.settle(job.progress);
      report();
    },
  };
}

function backfillGauge(registry: Registry) {
  return gauge(registry, { name: 'acme_sync_backfills', help: 'Backfills of this process by state: queued (waiting for a slot, BACKFILL_CONCURRENCY) or running', labelNames: ['state'] as const });
}

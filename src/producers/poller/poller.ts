/**
 * Incremental polling of every active tenant's Acme account, plus reconciliation.
 *
 * - Poll: per object type (users first, so time zones are known before activities), read
 *   from the stored `updated_since` cursor and follow `next_cursor`; after each page is
 *   acknowledged by Kafka (users: written to acme_users) the cursor moves to the page's
 *   largest updated_at. The list bound is inclusive, so the boundary record is re-read
 *   (a duplicate, which consumers absorb); nothing between is ever skipped. A failure
 *   leaves the cursor at the last acknowledged page.
 * - Reconcile: re-read a window (since the last reconciliation, minus a margin) with
 *   source RECONCILE: what webhooks lost, soft deletes included, reaches Kafka again.
 * - Schedule: each tenant's settings.pollIntervalSeconds / reconcileIntervalSeconds;
 *   paused tenants are skipped; a tenant runs one pass at a time.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { AcmeClient } from '../../acme/client.js';
import { historyClient, type RateBudget } from '../../acme/rate-budget.js';
import type { AcmeObjectType } from '../../acme/types.js';
import { toAcmeSyncError } from '../../errors/index.js';
import type { Logger } from '../../logger.js';
import { counter, type Registry } from '../../metrics/index.js';
import type { TenantRepository } from '../../tenants/repository.js';
import type { Tenant } from '../../tenants/types.js';
import type { Source } from '../../transforms/types.js';
import type { EventPublisher } from '../publisher.js';
import { createCursorStore, type CursorStore } from './cursor-store.js';
import { hasQueuedBackfill, tryHistoryLock } from './history-lock.js';
import { syncCollection, type PageDone } from './sync.js';
import type { DeadLetterWriter } from '../../dlq/dead-letters.js';
import promClient from 'prom-client';

/** Users first: the touch-point flow needs a user's time zone before its activities. */
export const POLL_TYPES: readonly AcmeObjectType[] = ['user', 'contact', 'appointment', 'activity'];

export interface PollerDeps {
  pool: pg.Pool;
  tenants: TenantRepository;
  publisher: EventPublisher;
  clientFor: (tenantId: string) => AcmeClient;
  cursors?: CursorStore;
  /**
   * Connections that hold tenants' history locks for a pass (src/producers/poller/history-lock.ts):
   * a pool apart from `pool`, so held locks can never take every connection the passes need. Default: `pool`.
   */
  lockPool?: pg.Pool;
  /** Acme's rate budget: reconciliation (history) leaves the live reserve alone; polls are live (src/acme/rate-budget.ts). */
  rateBudget?: RateBudget;
  now?: () => number;
  logger?: Logger;
  metrics?: Registry;
  /** Tenants polled at the same time. */
  concurrency?: number;
  pageSize?: number;
  /** How often the scheduler looks for due tenants. */
  tickMs?: number;
  /** Reconciliation reaches this far before the previous one (clock skew, late commits). */
  reconcileMarginMs?: number;
  /** Where polled records that break the validation contract are kept (the DLQ); without it they are skipped and counted. */
  deadLetters?: DeadLetterWriter;
}

export interface PassResult {
  tenantId: string;
  source: Source;
  /** backfilling: a backfill of the tenant is queued or running; it reads the history, the pass would read it twice. */
  skipped?: 'paused' | 'unknown' | 'busy' | 'backfilling';
  records: number;
  pages: number;
  byType: Partial<Record<AcmeObjectType, number>>;
  error?: string;
}

export interface Poller {
  /** One incremental pass over a tenant (source POLL). */
  pollTenant(tenantId: string): Promise<PassResult>;
  /** Re-read the reconciliation window of a tenant (source RECONCILE). */
  reconcileTenant(tenantId: string): Promise<PassResult>;
  /** One scheduling round: every active tenant whose poll or reconciliation is due. */
  runDue(): Promise<PassResult[]>;
  start(): void;
  stop(): Promise<void>;
}

function pollMetrics(registry: Registry) {
  return {
    records: counter(registry, { name: 'acme_sync_poll_records_total', help: 'Records read from Acme and stored, by object type and source', labelNames: ['type', 'source'] as const }),
    skipped: counter(registry, { name: 'acme_sync_poll_skipped_records_total', help: 'Unidentifiable Acme records skipped while polling', labelNames: ['type'] as const }),
    deadLettered: counter(registry, { name: 'acme_sync_poll_dead_lettered_records_total', help: 'Polled Acme records kept in the DLQ (they break the validation contract)', labelNames: ['type'] as const }),
    passes: counter(registry, { name: 'acme_sync_poll_passes_total', help: 'Poll/reconcile/backfill passes by source and outcome', labelNames: ['source', 'outcome'] as const }),
  };
}

export function createPoller(deps: PollerDeps): Poller {
  const cursors = deps.cursors ?? createCursorStore(deps.pool);
  const now = deps.now ?? Date.now;
  const metrics = pollMetrics(deps.metrics ?? new promClient.Registry());
  const running = new Set<string>();
  const lastPoll = new Map<string, number>();
  const lastReconcile = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<unknown> | undefined;
  let stopped = false;

  async function pass(tenantId: string, source: 'POLL' | 'RECONCILE'): Promise<PassResult> {
    const result: PassResult = { tenantId, source, records: 0, pages: 0, byType: {} };
    const tenant = await deps.tenants.get(tenantId);
    if (!tenant) return { ...result, skipped: 'unknown' };
    if (tenant.status !== 'active') return { ...result, skipped: 'paused' };
    const key = `${tenantId}:${source}`;
    if (running.has(key)) return { ...result, skipped: 'busy' };
    // One reader of a tenant's history at a time (issue 17): a shared hold for the pass,
    // which a backfill (exclusive) waits for; none while a backfill is queued or running.
    const lock = await tryHistoryLock(deps.lockPool ?? deps.pool, tenantId, 'shared');
    if (lock === undefined) return { ...result, skipped: 'backfilling' };
    if (await hasQueuedBackfill(lock.client, tenantId).catch(async (err: unknown) => { await lock.release(); throw err; })) {
      await lock.release();
      return { ...result, skipped: 'backfilling' };
    }
    running.add(key);
    const startedAt = new Date(now()).toISOString();
    const correlationId = `${source.toLowerCase()}:${randomUUID()}`;
    try {
      for (const type of POLL_TYPES) {
        const cursor = await cursors.get(tenantId, type);
        const since = source === 'POLL' ? cursor.updatedSince : reconcileStart(tenant, cursor.reconciledAt);
        const onPage = async (page: PageDone) => {
          metrics.records.inc({ type, source }, page.records);
          if (page.skipped > 0) metrics.skipped.inc({ type }, page.skipped);
          if (page.deadLettered) metrics.deadLettered.inc({ type }, page.deadLettered);
          if (source === 'POLL') await cursors.advance(tenantId, type, page.maxUpdatedAt);
        };
        const r = await syncCollection({
          client: source === 'RECONCILE' ? historyClient(deps.clientFor(tenantId), deps.rateBudget) : deps.clientFor(tenantId), tenantId, type, since, source, publisher: deps.publisher, tenants: deps.tenants,
          now, pageSize: deps.pageSize, correlationId, logger: deps.logger, onPage, ...(deps.deadLetters ? { deadLetters: deps.deadLetters } : {}),
        });
        if (source === 'RECONCILE') await cursors.markReconciled(tenantId, type, startedAt);
        result.records += r.records;
        result.pages += r.pages;
        result.byType[type] = r.records;
      }
      metrics.passes.inc({ source, outcome: 'ok' });
      return result;
    } catch (err) {
      const e = toAcmeSyncError(err, 'poll', { tenantId });
      metrics.passes.inc({ source, outcome: e.retriable ? 'transient_error' : 'permanent_error' });
      deps.logger?.warn({ err: e, tenantId, source }, 'poll pass failed; the cursor stays at the last acknowledged page');
      return { ...result, error: `${e.code}: ${e.message}` };
    } finally {
      running.delete(key);
      await lock.release();
    }
  }

  function reconcileStart(tenant: Tenant, reconciledAt: string | null): string {
    const margin = deps.reconcileMarginMs ?? 5 * 60_000;
    const from = reconciledAt === null ? now() - tenant.settings.reconcileIntervalSeconds * 1000 : Date.parse(reconciledAt);
    return new Date(from - margin).toISOString();
  }

  async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = [];
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
  }

  async function runDue(): Promise<PassResult[]> {
    const active = (await deps.tenants.list()).filter((t) => t.status === 'active');
    const t = now();
    const jobs: Array<() => Promise<PassResult>> = [];
    for (const tenant of active) {
      if (t - (lastPoll.get(tenant.id) ?? -Infinity) >= tenant.settings.pollIntervalSeconds * 1000) {
        lastPoll.set(tenant.id, t);
        jobs.push(() => pass(tenant.id, 'POLL'));
      }
      if (t - (lastReconcile.get(tenant.id) ?? t) >= tenant.settings.reconcileIntervalSeconds * 1000) {
        lastReconcile.set(tenant.id, t);
        jobs.push(() => pass(tenant.id, 'RECONCILE'));
      }
      // The first reconciliation comes one interval after start: polling covers start-up.
      if (!lastReconcile.has(tenant.id)) lastReconcile.set(tenant.id, t);
    }
    return mapLimited(jobs, deps.concurrency ?? 4, (job) => job());
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      round = runDue()
        .catch((err: unknown) => deps.logger?.error({ err: toAcmeSyncError(err, 'poll') }, 'poll scheduling round failed'))
        .finally(schedule);
    }, deps.tickMs ?? 1000);
  }

  return {
    pollTenant: (tenantId) => pass(tenantId, 'POLL'),
    reconcileTenant: (tenantId) => pass(tenantId, 'RECONCILE'),
    runDue,
    start() {
      stopped = false;
      if (timer === undefined) schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await round;
    },
  };
}

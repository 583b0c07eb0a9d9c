/**
 * Tenants with their secrets, cached in-process for a few seconds so a signature check
 * does not read PostgreSQL on every request.
 *
 * - Entries live `ttlMs` (2 s by default): a pause, a new secret or a new base URL takes
 *   effect within that — docs/SECURITY.md promises every process sees a change within 5 s.
 * - `refresh` reloads at once — the webhook route calls it when a signature does not
 *   match the cached secrets, so a freshly rotated secret works immediately. Refreshes
 *   are spaced at least `minRefreshMs` apart per tenant, so a flood of forged requests
 *   costs at most one query per tenant per `minRefreshMs`.
 * - Unknown tenants are cached too (as `undefined`), bounded by `maxEntries`, so random
 *   tenant names do not reach the database more than once per TTL each.
 * - Concurrent loads of one tenant share a single query.
 */
import { ERROR_CODES, TransientError, isRetriable } from '../../errors/index.js';
import type { TenantWithSecrets } from '../../tenants/types.js';

export const DEFAULT_TENANT_CACHE_TTL_MS = 2_000;

export interface TenantCache {
  get(tenantId: string): Promise<TenantWithSecrets | undefined>;
  /** Reload now unless loaded within `minRefreshMs`. */
  refresh(tenantId: string): Promise<TenantWithSecrets | undefined>;
  invalidate(tenantId?: string): void;
}

export interface TenantCacheOptions {
  load(tenantId: string): Promise<TenantWithSecrets | undefined>;
  ttlMs?: number;
  minRefreshMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  value: TenantWithSecrets | undefined;
  loadedAt: number;
}

export function createTenantCache(options: TenantCacheOptions): TenantCache {
  const ttlMs = options.ttlMs ?? DEFAULT_TENANT_CACHE_TTL_MS;
  const minRefreshMs = options.minRefreshMs ?? 1_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const refreshedAt = new Map<string, number>();
  const loading = new Map<string, Promise<TenantWithSecrets | undefined>>();

  function remember(tenantId: string, value: TenantWithSecrets | undefined): void {
    entries.delete(tenantId); // re-insert: Map order is the eviction order
    entries.set(tenantId, { value, loadedAt: now() });
    if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
  }

  function load(tenantId: string): Promise<TenantWithSecrets | undefined> {
    const pending = loading.get(tenantId);
    if (pending) return pending;
    const p = options
      .load(tenantId)
      .then((value) => {
        remember(tenantId, value);
        return value;
      })
      .catch((err: unknown) => {
        if (isRetriable(err)) throw new TransientError(`Tenant store unavailable: ${(err as Error).message}`, { code: ERROR_CODES.DATABASE_UNAVAILABLE, stage: 'webhook', cause: err, retryAfterMs: 1_000 });
        throw err;
      })
      .finally(() => loading.delete(tenantId));
    loading.set(tenantId, p);
    return p;
  }

  return {
    async get(tenantId) {
      const entry = entries.get(tenantId);
      if (entry && now() - entry.loadedAt < ttlMs) return entry.value;
      return load(tenantId);
    },
    async refresh(tenantId) {
      const last = refreshedAt.get(tenantId);
      const entry = entries.get(tenantId);
      if (entry && last !== undefined && now() - last < minRefreshMs) return entry.value;
      refreshedAt.delete(tenantId); // re-insert: bounded like the entries
      refreshedAt.set(tenantId, now());
      if (refreshedAt.size > maxEntries) refreshedAt.delete(refreshedAt.keys().next().value as string);
      return load(tenantId);
    },
    invalidate(tenantId) {
      if (tenantId === undefined) entries.clear();
      else entries.delete(tenantId);
    },
  };
}

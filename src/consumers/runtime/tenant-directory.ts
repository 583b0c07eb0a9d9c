/**
 * Tenants and Acme users for the consumers, cached per process with a short TTL (a
 * settings change shows up within `ttlMs`). An Acme user not yet in acme_users is
 * fetched from Acme once and stored, so the next process finds it locally.
 */
import { ERROR_CODES, isRetriable, toAcmeSyncError } from '../../errors/index.js';
import type { TenantRepository } from '../../tenants/repository.js';
import type { AcmeUserRecord, Tenant } from '../../tenants/types.js';
import type { AcmeReader, TenantDirectory } from './types.js';

export interface TenantDirectoryOptions {
  repository: Pick<TenantRepository, 'get' | 'getAcmeUser' | 'upsertAcmeUsers'>;
  acme: (tenantId: string) => AcmeReader;
  ttlMs?: number;
  now?: () => number;
}

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export function createTenantDirectory(options: TenantDirectoryOptions): TenantDirectory {
  const ttlMs = options.ttlMs ?? 30_000;
  const now = options.now ?? Date.now;
  const tenants = new Map<string, Entry<Promise<Tenant | undefined>>>();
  const users = new Map<string, Entry<Promise<AcmeUserRecord | undefined>>>();

  /** One in-flight lookup per key; a failed lookup is not cached. */
  function cached<T>(cache: Map<string, Entry<Promise<T>>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit !== undefined && hit.expiresAt > now()) return hit.value;
    const value = load();
    cache.set(key, { value, expiresAt: now() + ttlMs });
    value.catch(() => cache.delete(key));
    return value;
  }

  async function loadUser(tenantId: string, acmeUserId: string): Promise<AcmeUserRecord | undefined> {
    const stored = await options.repository.getAcmeUser(tenantId, acmeUserId);
    if (stored !== undefined) return stored;
    try {
      const user = await options.acme(tenantId).get('user', acmeUserId);
      const record: AcmeUserRecord = { tenantId, acmeUserId, email: user.email ?? null, name: user.name ?? null, timeZone: user.time_zone ?? null };
      await options.repository.upsertAcmeUsers([record]);
      return record;
    } catch (err) {
      if (!isRetriable(err) && toAcmeSyncError(err, 'enrich').code === ERROR_CODES.ACME_NOT_FOUND) return undefined;
      throw toAcmeSyncError(err, 'enrich', { tenantId, acmeUserId });
    }
  }

  return {
    get: (tenantId) => cached(tenants, tenantId, () => options.repository.get(tenantId)),
    acmeUser: (tenantId, acmeUserId) => cached(users, `${tenantId}\u0000${acmeUserId}`, () => loadUser(tenantId, acmeUserId)),
  };
}

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ERROR_CODES, PermanentError } from '../../../src/errors/index.js';
import { createTenantDirectory } from '../../../src/consumers/runtime/tenant-directory.js';
import type { AcmeReader } from '../../../src/consumers/runtime/types.js';
import { createSecretBox } from '../../../src/tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';

// The consumers load a batch's tenants and Acme users with one query each (preload) instead of
// one per key: the growth benchmark's 1,000-tenant runs were half as fast as one tenant's.
// Generated: which tenants exist, which users are stored, which keys a batch preloads and asks.
let stack: IsolatedStack;
let repository: TenantRepository;
const TENANTS = ['dir-a', 'dir-b', 'dir-c', 'dir-d'];
const STORED_USERS = [['dir-a', 'u1'], ['dir-a', 'u2'], ['dir-b', 'u1'], ['dir-c', 'u3']] as const;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  repository = createTenantRepository(stack.pool, createSecretBox([{ id: 'k', key: Buffer.alloc(32, 3) }]));
  for (const id of TENANTS.slice(0, 3)) await repository.create({ id, name: id, acmeBaseUrl: 'http://127.0.0.1:4010', authKind: 'api_key', secrets: { apiKey: `ak_${id}`, webhookSecrets: [] } });
  await repository.upsertAcmeUsers(STORED_USERS.map(([tenantId, acmeUserId]) => ({ tenantId, acmeUserId, email: `${acmeUserId}@${tenantId}.example`, name: acmeUserId, timeZone: 'Europe/Berlin' })));
});
afterAll(async () => stack?.close());

/** The repository, counting the queries each method makes. */
function counted(repo: TenantRepository) {
  const calls = { get: 0, getMany: 0, getAcmeUser: 0, getAcmeUsers: 0 };
  const wrap = <K extends keyof typeof calls>(k: K) => ((...args: unknown[]) => {
    calls[k]++;
    return (repo[k] as (...a: unknown[]) => unknown)(...args);
  }) as TenantRepository[K];
  return { calls, repo: { ...repo, get: wrap('get'), getMany: wrap('getMany'), getAcmeUser: wrap('getAcmeUser'), getAcmeUsers: wrap('getAcmeUsers') } };
}

/** Acme knows no user: an unstored user is ACME_NOT_FOUND (the directory answers undefined). */
const acme = (fetched: string[]) => (tenantId: string): AcmeReader => ({
  get: async (type, id) => {
    fetched.push(`${tenantId}/${type}/${id}`);
    throw new PermanentError('not found', { code: ERROR_CODES.ACME_NOT_FOUND });
  },
});

describe('the consumers\' tenant directory', () => {
  it('answers a preloaded batch from its cache exactly as it answers key by key, with one query per kind', async () => {
    const tenantIds = fc.constantFrom(...TENANTS);
    const userKeys = fc.record({ tenantId: tenantIds, acmeUserId: fc.constantFrom('u1', 'u2', 'u3', 'u4') });
    await fc.assert(
      fc.asyncProperty(fc.array(tenantIds, { maxLength: 8 }), fc.array(userKeys, { maxLength: 8 }), async (tenants, users) => {
        const plain = createTenantDirectory({ repository, acme: acme([]) });
        const { calls, repo } = counted(repository);
        const fetched: string[] = [];
        const preloading = createTenantDirectory({ repository: repo, acme: acme(fetched) });
        await preloading.preload!({ tenantIds: tenants, users });
        expect(calls.getMany).toBe(new Set(tenants).size > 0 ? 1 : 0);
        expect(calls.getAcmeUsers).toBe(users.length > 0 ? 1 : 0);
        for (const id of tenants) expect(await preloading.get(id)).toEqual(await plain.get(id));
        for (const u of users) expect(await preloading.acmeUser(u.tenantId, u.acmeUserId)).toEqual(await plain.acmeUser(u.tenantId, u.acmeUserId));
        // Preloaded keys are cache hits; only users not stored go on to Acme (one lookup each).
        expect(calls.get).toBe(0);
        const unstored = new Set(users.filter((u) => !STORED_USERS.some(([t, id]) => t === u.tenantId && id === u.acmeUserId)).map((u) => `${u.tenantId}/user/${u.acmeUserId}`));
        expect(new Set(fetched)).toEqual(unstored);
        expect(calls.getAcmeUser).toBe(unstored.size);
      }),
      { numRuns: 40 },
    );
  });

  it('loads nothing again that is cached, and keys of an expired entry once more', async () => {
    let clock = 0;
    const { calls, repo } = counted(repository);
    const directory = createTenantDirectory({ repository: repo, acme: acme([]), ttlMs: 1_000, now: () => clock });
    await directory.preload!({ tenantIds: ['dir-a', 'dir-b'], users: [{ tenantId: 'dir-a', acmeUserId: 'u1' }] });
    await directory.preload!({ tenantIds: ['dir-a', 'dir-b'], users: [{ tenantId: 'dir-a', acmeUserId: 'u1' }] });
    expect(calls).toMatchObject({ getMany: 1, getAcmeUsers: 1 });
    clock = 2_000;
    await directory.preload!({ tenantIds: ['dir-a'], users: [] });
    expect(calls).toMatchObject({ getMany: 2, getAcmeUsers: 1 });
  });
});

/**
 * Issue 17, "one reader of a tenant's history at a time": activation started the
 * backfill and the first poll at the same moment, and the poll (no cursor yet) read the
 * tenant's whole history a second time. Counted at Acme's sandbox: the records every
 * list call served, per collection.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { acmeClientsFor } from '../../../src/acme/client.js';
import { activateTenant } from '../../../src/admin/activation.js';
import { createLogger } from '../../../src/logger.js';
import { createPolling } from '../../../src/processes/admin.js';
import { createBackfillRunner, latestBackfill } from '../../../src/producers/poller/backfill.js';
import { createCursorStore } from '../../../src/producers/poller/cursor-store.js';
import { createPoller } from '../../../src/producers/poller/poller.js';
import type { TenantRepository } from '../../../src/tenants/repository.js';
import { createSandbox } from '../../../sandbox/src/index.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { createApiKeyTenant, sandboxOutbound, seedAccount, tenantsOf, type RunningSandbox } from '../../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let polling: FastifyInstance;
/** Records served by list calls, per account and collection. */
const served = new Map<string, number>();
/** List calls whose updated_since is held back until the test lets them through. */
let hold: { since: string; reached: () => void; gate: Promise<void> } | undefined;
const RETRY = { initialDelayMs: 10, maxDelayMs: 200, retries: 20, deadlineMs: 20_000 };
const LIST = /^\/v1\/(users|contacts|appointments|activities)(\?|$)/;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  const sandbox = createSandbox({ seed: 7, rateLimit: null });
  sandbox.app.addHook('onRequest', async (request) => {
    const since = new URL(request.url, 'http://x').searchParams.get('updated_since');
    if (hold !== undefined && since === hold.since && LIST.test(request.url)) {
      hold.reached();
      await hold.gate;
    }
  });
  sandbox.app.addHook('onSend', async (request, reply, payload) => {
    const collection = LIST.exec(request.url)?.[1];
    if (request.method === 'GET' && collection && reply.statusCode === 200 && typeof payload === 'string') {
      const key = `${(request.headers.authorization ?? '').slice(-12)}:${collection}`;
      served.set(key, (served.get(key) ?? 0) + (JSON.parse(payload) as { data: unknown[] }).data.length);
    }
    return payload;
  });
  env = { sandbox, baseUrl: await sandbox.listen({ port: 0 }) };
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  polling = await createPolling({ config: stack.config, logger: createLogger({ level: 'silent', name: 'history-reader-test' }), runtime: stack });
});
afterAll(async () => {
  await polling?.close();
  await env?.sandbox.close();
  await stack?.close();
});

describe('one reader of a tenant\'s history at a time', () => {
  it('activation reads no tenant\'s history twice: polls and reconciliations during the backfill are skipped, and the first poll starts where the backfill ended', async () => {
    const t = await createApiKeyTenant(env, tenants, 'hist-once');
    await tenants.setStatus(t.tenantId, 'paused');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 9, appointments: 7, activities: 8 });
    const servedOf = (collection: string) => served.get(`${t.apiKey.slice(-12)}:${collection}`) ?? 0;
    const clientFor = acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() });
    const deps = { pool: stack.pool, tenants, publisher: polling.eventPublisher, clientFor, pageSize: 2 };
    const backfills = createBackfillRunner(deps);
    const poller = createPoller(deps);
    const since = '2020-01-01T00:00:00.000Z';
    let reached!: () => void;
    let open!: () => void;
    const atAcme = new Promise<void>((resolve) => (reached = resolve));
    hold = { since, reached, gate: new Promise<void>((resolve) => (open = resolve)) };
    try {
      const activation = await activateTenant(
        { tenants, outbound: sandboxOutbound(), acmeTimeoutMs: 5_000, pool: stack.pool, publicBaseUrl: 'http://127.0.0.1:3000', backfills },
        t.tenantId, { backfillSince: since },
      );
      expect(activation.tenant.status).toBe('active');
      // The backfill is reading (its first page is held at Acme): the poller's passes come now.
      await atAcme;
      const during = await Promise.all([poller.pollTenant(t.tenantId), poller.reconcileTenant(t.tenantId), poller.runDue()]);
      expect(during.flat().filter((r) => r.tenantId === t.tenantId).map((r) => r.skipped)).toEqual(['backfilling', 'backfilling', 'backfilling']);
      open();
      await expect.poll(async () => (await latestBackfill(stack.pool, t.tenantId))?.status, { timeout: 30_000 }).toBe('succeeded');
    } finally {
      open?.();
      hold = undefined;
      await backfills.close();
    }
    const cursors = createCursorStore(stack.pool);
    expect((await cursors.get(t.tenantId, 'appointment')).updatedSince).toBe(seeded.appointments.at(-1)!.updated_at);
    const after = await poller.pollTenant(t.tenantId);
    expect(after.error).toBeUndefined();
    // Each record once by the backfill; the first poll re-reads at most the boundary record (inclusive bound).
    expect(servedOf('contacts')).toBeLessThanOrEqual(seeded.contacts.length + 1);
    expect(servedOf('appointments')).toBeLessThanOrEqual(seeded.appointments.length + 1);
    expect(servedOf('activities')).toBeLessThanOrEqual(seeded.activities.length + 1);
    expect(servedOf('contacts')).toBeGreaterThanOrEqual(seeded.contacts.length);
  });

  it('after a crash: a running backfill whose process is gone blocks no poll and is marked interrupted; a queued one runs in the next process', async () => {
    const crashed = await createApiKeyTenant(env, tenants, 'hist-crashed');
    const waiting = await createApiKeyTenant(env, tenants, 'hist-waiting');
    seedAccount(env.sandbox, waiting.accountId, { contacts: 2, appointments: 1, activities: 1 });
    // What a killed admin process leaves: rows, and no session holding the history locks.
    await stack.pool.query(`INSERT INTO backfill_runs (id, tenant_id, since, status, running_at) VALUES ('run-crashed', $1, now(), 'running', now())`, [crashed.tenantId]);
    await stack.pool.query(`INSERT INTO backfill_runs (id, tenant_id, since, status) VALUES ('run-waiting', $1, '2020-01-01', 'queued')`, [waiting.tenantId]);
    const clientFor = acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() });
    const deps = { pool: stack.pool, tenants, publisher: polling.eventPublisher, clientFor, pageSize: 2 };
    const poller = createPoller(deps);
    expect((await poller.pollTenant(crashed.tenantId)).skipped).toBeUndefined();
    expect((await poller.pollTenant(waiting.tenantId)).skipped).toBe('backfilling');
    const backfills = createBackfillRunner(deps);
    try {
      await backfills.resume();
      expect(await latestBackfill(stack.pool, crashed.tenantId)).toMatchObject({ runId: 'run-crashed', status: 'failed', error: expect.stringMatching(/^INTERRUPTED/) });
      await expect.poll(async () => (await latestBackfill(stack.pool, waiting.tenantId))?.status, { timeout: 30_000 }).toBe('succeeded');
      expect(await latestBackfill(stack.pool, waiting.tenantId)).toMatchObject({ runId: 'run-waiting', records: 1 + 2 + 1 + 1 });
    } finally {
      await backfills.close();
    }
    expect((await poller.pollTenant(waiting.tenantId)).skipped).toBeUndefined();
  });

  it('starts the first poll at the backfill\'s `since` for a collection with nothing newer, not at the beginning of time', async () => {
    const t = await createApiKeyTenant(env, tenants, 'hist-empty');
    seedAccount(env.sandbox, t.accountId, { contacts: 2, appointments: 0, activities: 0 });
    const clientFor = acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() });
    const backfills = createBackfillRunner({ pool: stack.pool, tenants, publisher: polling.eventPublisher, clientFor, pageSize: 2 });
    const since = '2021-06-01T00:00:00.000Z';
    const { done } = await backfills.start(t.tenantId, since);
    expect((await done).status).toBe('succeeded');
    await backfills.close();
    expect((await createCursorStore(stack.pool).get(t.tenantId, 'appointment')).updatedSince).toBe(since);
  });
});

/**
 * Issue 17, onboarding many tenants at once: at most BACKFILL_CONCURRENCY backfills run in
 * an admin process, the others wait in a queue whose order, positions and progress the
 * admin API and the metrics show; a queued tenant's history is not read until its turn.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { createAdminApp } from '../../src/admin/app.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import { createLogger } from '../../src/logger.js';
import { createPolling } from '../../src/processes/admin.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { createSandbox } from '../../sandbox/src/index.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { createApiKeyTenant, sandboxOutbound, seedAccount, tenantsOf, type RunningSandbox } from '../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let polling: FastifyInstance;
let app: FastifyInstance;
let operator: string;
const HELD_SINCE = '2019-01-01T00:00:00.000Z';
let gate: { reached: () => void; released: Promise<void>; open: () => void } | undefined;
/** List calls Acme answered, per API key. */
const lists = new Map<string, number>();

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'), { BACKFILL_CONCURRENCY: '1' });
  const sandbox = createSandbox({ seed: 7, rateLimit: null });
  sandbox.app.addHook('onRequest', async (request) => {
    if (request.method !== 'GET' || !/^\/v1\/(users|contacts|appointments|activities)(\?|$)/.test(request.url)) return;
    const key = String(request.headers.authorization);
    lists.set(key, (lists.get(key) ?? 0) + 1);
    // The first tenant's backfill is held at its first page: it keeps the only slot while we look.
    if (gate && new URL(request.url, 'http://x').searchParams.get('updated_since') === HELD_SINCE) {
      gate.reached();
      await gate.released;
    }
  });
  env = { sandbox, baseUrl: await sandbox.listen({ port: 0 }) };
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  const clientFor = acmeClientsFor({ tenants, retry: { initialDelayMs: 10, maxDelayMs: 100, retries: 5, deadlineMs: 5_000 }, outbound: sandboxOutbound() });
  polling = await createPolling({ config: stack.config, logger: createLogger({ level: 'silent', name: 'queue-test' }), runtime: stack, clientFor });
  app = createAdminApp({ pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/', backfills: polling.backfills, acmeOutbound: sandboxOutbound() });
  operator = (await createAdminTokenStore(stack.pool).issue({ tenantId: null, description: 'test operator' })).token;
});
afterAll(async () => {
  gate?.open();
  await app?.close();
  await polling?.close();
  await env?.sandbox.close();
  await stack?.close();
});

const call = (opts: InjectOptions) => app.inject({ ...opts, headers: { authorization: `Bearer ${operator}`, ...opts.headers } });

async function gauge(state: string): Promise<number | undefined> {
  const metric = await polling.metricsRegistry.getSingleMetric('acme_sync_backfills')?.get();
  return metric?.values.find((v) => v.labels.state === state)?.value;
}

describe('the onboarding queue', () => {
  it('runs at most BACKFILL_CONCURRENCY backfills; the rest wait in order with their position on the admin API and in the metrics, unread until their turn', async () => {
    const ids = ['q-first', 'q-second', 'q-third'];
    const keys: string[] = [];
    for (const id of ids) {
      const t = await createApiKeyTenant(env, tenants, id);
      seedAccount(env.sandbox, t.accountId, { contacts: 3, appointments: 2, activities: 2 });
      keys.push(`Bearer ${t.apiKey}`);
    }
    let open!: () => void;
    let reached!: () => void;
    const atAcme = new Promise<void>((resolve) => (reached = resolve));
    gate = { reached, released: new Promise<void>((resolve) => (open = resolve)), open };
    try {
      const first = await call({ method: 'POST', url: `/admin/tenants/${ids[0]}/backfill`, payload: { since: HELD_SINCE } });
      expect(first.statusCode, first.body).toBe(202);
      await atAcme;
      for (const id of ids.slice(1)) expect((await call({ method: 'POST', url: `/admin/tenants/${id}/backfill`, payload: { since: '2020-01-01' } })).statusCode).toBe(202);

      const progress = async (id: string) => (await call({ method: 'GET', url: `/admin/tenants/${id}/backfill` })).json();
      expect(await progress(ids[0]!)).toMatchObject({ status: 'running', queuePosition: null });
      expect(await progress(ids[1]!)).toMatchObject({ status: 'queued', queuePosition: 1, runningAt: null, records: 0 });
      expect(await progress(ids[2]!)).toMatchObject({ status: 'queued', queuePosition: 2, runningAt: null, records: 0 });
      const queue = (await call({ method: 'GET', url: '/admin/backfills' })).json().data;
      expect(queue.map((b: { tenantId: string; status: string; queuePosition: number | null }) => [b.tenantId, b.status, b.queuePosition])).toEqual([
        [ids[0], 'running', null], [ids[1], 'queued', 1], [ids[2], 'queued', 2],
      ]);
      expect(await gauge('running')).toBe(1);
      expect(await gauge('queued')).toBe(2);
      // Queued means unread: Acme has not been asked for the waiting tenants' history.
      expect(lists.get(keys[1]!) ?? 0).toBe(0);
      expect(lists.get(keys[2]!) ?? 0).toBe(0);
    } finally {
      open();
    }
    await vi.waitFor(async () => {
      for (const id of ids) expect((await call({ method: 'GET', url: `/admin/tenants/${id}/backfill` })).json()).toMatchObject({ status: 'succeeded', records: 1 + 3 + 2 + 2 });
    }, { timeout: 30_000, interval: 100 });
    expect((await call({ method: 'GET', url: '/admin/backfills' })).json().data).toEqual([]);
    expect(await gauge('queued')).toBe(0);
    expect(await gauge('running')).toBe(0);
  });
});

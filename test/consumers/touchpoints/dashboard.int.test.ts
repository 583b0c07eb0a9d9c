import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDashboardRoutes } from '../../../src/consumers/dashboard-routes.js';
import { applyActivityFacts } from '../../../src/consumers/sinks/touchpoints.js';
import { withTransaction } from '../../../src/db/index.js';
import { createTenantRepository } from '../../../src/tenants/repository.js';
import { createSecretBox } from '../../../src/tenants/secret-box.js';
import type { ActivityFact } from '../../../src/transforms/touchpoints.js';
import { createIsolatedStack, randomId, type IsolatedStack } from '../../helpers/isolated-stack.js';

let stack: IsolatedStack;
let app: FastifyInstance;
const tenantId = randomId('dash-');

function fact(overrides: Partial<ActivityFact>): ActivityFact {
  return { tenantId, acmeId: 'act_1', version: 1, acmeUserId: 'usr_ada', channel: 'EMAIL', day: '2026-03-10', deleted: false, ...overrides };
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
  await tenants.create({
    id: tenantId,
    name: 'Dashboard tenant',
    acmeBaseUrl: 'http://127.0.0.1:1',
    authKind: 'api_key',
    settings: { userMapping: { strategy: 'email', overrides: { usr_grace: 'grace-our-id' } } },
  });
  await tenants.upsertAcmeUsers([
    { tenantId, acmeUserId: 'usr_ada', email: 'Ada@Example.com', name: 'Ada', timeZone: 'Europe/London' },
    { tenantId, acmeUserId: 'usr_ada2', email: 'ada@example.com', name: 'Ada (second seat)', timeZone: 'Europe/London' },
    { tenantId, acmeUserId: 'usr_grace', email: 'grace@example.com', name: 'Grace', timeZone: 'America/New_York' },
  ]);
  await withTransaction(stack.pool, (client) =>
    applyActivityFacts(client, [
      fact({ acmeId: 'act_1' }),
      fact({ acmeId: 'act_2' }),
      fact({ acmeId: 'act_3', channel: 'PHONE', day: '2026-03-12' }),
      fact({ acmeId: 'act_4', acmeUserId: 'usr_ada2', channel: 'PHONE', day: '2026-03-12' }),
      fact({ acmeId: 'act_5', acmeUserId: 'usr_grace', day: '2026-03-11' }),
      fact({ acmeId: 'act_6', day: '2026-03-20' }),
    ]),
  );
  app = Fastify();
  await app.register(createDashboardRoutes({ db: stack.pool, maxDays: 31 }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await stack?.close();
});

async function get(query: Record<string, string>) {
  const res = await app.inject({ method: 'GET', url: '/dashboard/touchpoints', query });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

const range = { from: '2026-03-10', to: '2026-03-12' };

describe('the touch-point dashboard query', () => {
  it('answers per day and channel for an Acme user ID, zero-filling days without touch-points', async () => {
    const { status, body } = await get({ tenant: tenantId, user: 'usr_ada', ...range });
    expect(status).toBe(200);
    expect(body).toEqual({
      tenant: tenantId,
      user: 'usr_ada',
      userKind: 'acme',
      acmeUserIds: ['usr_ada'],
      ...range,
      days: [
        { day: '2026-03-10', EMAIL: 2, PHONE: 0 },
        { day: '2026-03-11', EMAIL: 0, PHONE: 0 },
        { day: '2026-03-12', EMAIL: 0, PHONE: 1 },
      ],
      totals: { EMAIL: 2, PHONE: 1 },
    });
  });

  it('sums every Acme user whose email is our user, ignoring case', async () => {
    const { status, body } = await get({ tenant: tenantId, user: 'ADA@example.com', ...range });
    expect(status).toBe(200);
    expect(body).toMatchObject({ userKind: 'ours', acmeUserIds: ['usr_ada', 'usr_ada2'], totals: { EMAIL: 2, PHONE: 2 } });
    expect(body.days[2]).toEqual({ day: '2026-03-12', EMAIL: 0, PHONE: 2 });
  });

  it('follows the tenant override rather than the email for an overridden Acme user', async () => {
    expect((await get({ tenant: tenantId, user: 'grace-our-id', ...range })).body).toMatchObject({ acmeUserIds: ['usr_grace'], totals: { EMAIL: 1, PHONE: 0 } });
    expect((await get({ tenant: tenantId, user: 'grace@example.com', ...range })).status).toBe(404);
  });

  it('includes both ends of the range and nothing outside it', async () => {
    const { body } = await get({ tenant: tenantId, user: 'usr_ada', from: '2026-03-12', to: '2026-03-20' });
    expect(body.days).toHaveLength(9);
    expect(body.totals).toEqual({ EMAIL: 1, PHONE: 1 });
  });

  it.each([
    [{ user: 'usr_ada', ...range }, 'tenant', /required/],
    [{ tenant: tenantId, ...range }, 'user', /required/],
    [{ tenant: tenantId, user: 'usr_ada', from: '2026-3-10', to: '2026-03-12' }, 'from', /pattern/],
    [{ tenant: tenantId, user: 'usr_ada', from: '2026-02-30', to: '2026-03-12' }, 'from', /calendar date/],
    [{ tenant: tenantId, user: 'usr_ada', from: '2026-03-12', to: '2026-03-10' }, 'to', /before from/],
    [{ tenant: tenantId, user: 'usr_ada', from: '2026-01-01', to: '2026-03-10' }, 'to', /at most 31 days/],
    [{ tenant: 'NOT A TENANT', user: 'usr_ada', ...range }, 'tenant', /pattern/],
  ])('refuses %j with 400 naming the field', async (query, field, message) => {
    const { status, body } = await get(query as Record<string, string>);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'VALIDATION_FAILED', field });
    expect(body.error.message).toMatch(new RegExp(`^${field}: `));
    expect(body.error.message).toMatch(message);
  });

  it('answers 404 for an unknown tenant and for our user no Acme user maps to', async () => {
    expect(await get({ tenant: 'no-such-tenant', user: 'usr_ada', ...range })).toMatchObject({ status: 404, body: { error: { code: 'UNKNOWN_TENANT', field: 'tenant' } } });
    expect(await get({ tenant: tenantId, user: 'nobody@example.com', ...range })).toMatchObject({ status: 404, body: { error: { field: 'user' } } });
  });
});

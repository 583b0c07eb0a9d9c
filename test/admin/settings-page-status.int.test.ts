import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createAdminApp } from '../../src/admin/app.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { tenantsOf } from '../acme/sandbox-tenants.js';
import { sandboxOutbound } from '../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let tenants: TenantRepository;
let app: FastifyInstance;
let tokenA: string;

const status = async (tenantId: string, token = tokenA) =>
  app.inject({ method: 'GET', url: `/admin/tenants/${tenantId}/status`, headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  app = createAdminApp({ pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/', acmeOutbound: sandboxOutbound() });
  for (const id of ['st-a', 'st-b', 'st-empty']) await tenants.create({ id, name: id, acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', secrets: { apiKey: 'ak_test_1234', webhookSecrets: [] } });
  await tenants.update('st-a', { webhookSubscriptionId: 'whs_1' });
  tokenA = (await createAdminTokenStore(stack.pool).issue({ tenantId: 'st-a' })).token;
  const q = (sql: string, params: unknown[] = []) => stack.pool.query(sql, params);
  const event = `INSERT INTO calendar_events (tenant_id, acme_appointment_id, acme_version, title, starts_at, time_zone, status, correlation_id, updated_at)
                 VALUES ($1, $2, 1, 't', now(), 'UTC', 'ACTIVE', $3, now() - make_interval(secs => $4))`;
  // st-a: a webhook-borne change 10 min ago, a poll-borne one 5 min ago, an activity 90 s ago.
  await q(event, ['st-a', 'apt_1', 'msg_2a7c', 600]);
  await q(event, ['st-a', 'apt_2', 'poll:4f1e', 300]);
  await q(event, ['st-a', 'apt_3', 'backfill:run-1', 200]);
  await q(`INSERT INTO activity_facts (tenant_id, acme_id, acme_version, updated_at) VALUES ('st-a', 'act_1', 1, now() - interval '90 seconds')`);
  // st-b: newer everything, which st-a must not see.
  await q(event, ['st-b', 'apt_9', 'msg_ffff', 1]);
  await q(`INSERT INTO poll_cursors (tenant_id, object_type, polled_at, reconciled_at) VALUES
             ('st-a', 'contact', '2026-11-25T10:00:00Z', NULL), ('st-a', 'appointment', '2026-11-25T10:05:00Z', '2026-11-25T09:00:00Z'),
             ('st-b', 'contact', '2026-11-26T00:00:00Z', NULL)`);
  await q(`INSERT INTO consumer_ledger (group_id, tenant_id, received, written, dlq, skipped, updated_at) VALUES
             ('g-calendar', 'st-a', 10, 7, 2, 1, '2026-11-25T11:00:00Z'), ('g-touchpoints', 'st-a', 4, 3, 1, 0, '2026-11-25T11:30:00Z'),
             ('g-calendar', 'st-b', 50, 0, 50, 0, now())`);
  await q(`INSERT INTO backfill_runs (id, tenant_id, status, error, started_at, finished_at) VALUES
             ('run-old', 'st-a', 'failed', 'ACME_AUTH_FAILED: Acme refused the credentials', '2026-11-24T08:00:00Z', '2026-11-24T08:00:05Z'),
             ('run-new', 'st-a', 'succeeded', NULL, '2026-11-25T08:00:00Z', '2026-11-25T08:01:00Z')`);
});
afterAll(async () => {
  await app?.close();
  await stack?.close();
});

describe('GET /admin/tenants/:id/status', () => {
  it('computes last webhook, last poll, freshness, the DLQ count and recent failures from PostgreSQL', async () => {
    const res = await status('st-a');
    expect(res.statusCode, res.body).toBe(200);
    const s = res.json();
    expect(s).toMatchObject({
      tenantId: 'st-a', status: 'active', authKind: 'api_key', connected: true, credentialsSet: true,
      lastPollAt: '2026-11-25T10:05:00.000Z', lastReconcileAt: '2026-11-25T09:00:00.000Z',
      ledger: { received: 14, written: 10, dlq: 3, skipped: 1 }, dlqCount: 3,
      backfill: { runId: 'run-new', status: 'succeeded' },
    });
    // The webhook-borne row is the one 10 minutes old, not the newer poll or backfill rows.
    const webhookAge = (Date.now() - Date.parse(s.lastWebhookAt)) / 1000;
    expect(webhookAge).toBeGreaterThanOrEqual(599);
    expect(webhookAge).toBeLessThan(900);
    // Freshness is the newest change of any kind: the activity 90 s ago.
    expect(s.freshnessSeconds).toBeGreaterThanOrEqual(89);
    expect(s.freshnessSeconds).toBeLessThan(300);
    expect(s.errors).toEqual([
      { at: '2026-11-25T11:30:00.000Z', source: 'consumer', message: '3 record(s) could not be synced and are in the dead-letter queue' },
      { at: '2026-11-24T08:00:05.000Z', source: 'backfill', message: 'ACME_AUTH_FAILED: Acme refused the credentials' },
    ]);
  });

  it('answers nulls and zeros for a tenant with nothing synced, and says it is not connected without a webhook subscription', async () => {
    const operator = (await createAdminTokenStore(stack.pool).issue({ tenantId: null })).token;
    const s = (await status('st-empty', operator)).json();
    expect(s).toMatchObject({
      connected: false, credentialsSet: true, lastWebhookAt: null, lastPollAt: null, lastEventSyncedAt: null, freshnessSeconds: null,
      dlqCount: 0, errors: [], backfill: null,
    });
  });

  it('shows paused once the tenant is paused', async () => {
    await tenants.setStatus('st-a', 'paused');
    expect((await status('st-a')).json().status).toBe('paused');
    await tenants.setStatus('st-a', 'active');
  });

  it('answers a tenant token 404 for another tenant, exactly as for one that does not exist', async () => {
    const foreign = await status('st-b');
    const missing = await status('st-nope');
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body.replace('st-b', 'X')).toBe(missing.body.replace('st-nope', 'X'));
  });
});

describe('the settings page assets', () => {
  it('serves the page and its assets with a CSP that allows only its own script, style and API', async () => {
    const page = await app.inject({ method: 'GET', url: '/settings' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    for (const [name, type] of [['settings.js', /^text\/javascript/], ['settings.css', /^text\/css/]] as const) {
      const asset = await app.inject({ method: 'GET', url: `/settings/assets/${name}` });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['content-type']).toMatch(type);
    }
    expect((await app.inject({ method: 'GET', url: '/settings/assets/..%2Fapp.js' })).statusCode).toBe(400);
  });

  it('never writes server data with innerHTML', async () => {
    const js = (await app.inject({ method: 'GET', url: '/settings/assets/settings.js' })).body;
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('sends a browser back from /oauth/callback to the page with the outcome, and keeps JSON for API clients', async () => {
    const browser = await app.inject({ method: 'GET', url: '/oauth/callback?state=forged', headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(browser.statusCode).toBe(303);
    expect(browser.headers.location).toBe('/settings?oauth_error=OAUTH_STATE_INVALID');
    const api = await app.inject({ method: 'GET', url: '/oauth/callback?state=forged' });
    expect(api.statusCode).toBe(400);
    expect(api.json().error.code).toBe('OAUTH_STATE_INVALID');
  });
});

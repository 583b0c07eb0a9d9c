import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import promClient from 'prom-client';
import { createAcmeClient, type AcmeClientOptions } from '../../src/acme/client.js';
import { AcmeSyncError, ERROR_CODES } from '../../src/errors/index.js';
import type { AcmeContact, AcmePage } from '../../src/acme/types.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { caught } from '../helpers/caught.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import {
  createApiKeyTenant, sandboxOutbound, createOAuthTenant, registerOAuthApp, seedAccount, startSandbox, tenantsOf,
  type OAuthApp, type RunningSandbox,
} from './sandbox-tenants.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let app: OAuthApp;
const FAST_RETRY = { initialDelayMs: 10, maxDelayMs: 200, retries: 20, deadlineMs: 20_000 };

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  env = await startSandbox();
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  app = registerOAuthApp(env);
});
afterAll(async () => {
  await env?.sandbox.close();
  await stack?.close();
});

function client(tenantId: string, extra: Partial<AcmeClientOptions> = {}) {
  return createAcmeClient({ tenantId, tenants, clientId: app.clientId, clientSecret: app.clientSecret, retry: FAST_RETRY, outbound: sandboxOutbound(), ...extra });
}

async function metricValue(registry: promClient.Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((n, v) => n + v.value, 0);
}

describe('the Acme client with an API-key tenant', () => {
  it('pages through a list with next_cursor and reads single objects, soft-deleted ones too', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-pages');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 5 });
    env.sandbox.store.softDelete('contact', t.accountId, seeded.contacts[0]!.id);
    const acme = client(t.tenantId);
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: AcmePage<AcmeContact> = await acme.list('contact', { cursor, limit: 2 });
      ids.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(ids.sort()).toEqual(seeded.contacts.map((c) => c.id).sort());
    const deleted = await acme.get('contact', seeded.contacts[0]!.id);
    expect(deleted.deleted_at).not.toBeNull();
    expect(deleted.version).toBe(2);
  });

  it('reads only records changed at or after updated_since', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-since');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 3 });
    const since = seeded.contacts[2]!.updated_at;
    const page = await client(t.tenantId).list('contact', { updatedSince: since });
    expect(page.data.map((c) => c.id)).toEqual([seeded.contacts[2]!.id]);
  });

  it('fails a missing object permanently with ACME_NOT_FOUND at the enrich stage', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-404');
    const err = await caught(client(t.tenantId).get('appointment', 'apt_missing'));
    expect(err).toBeInstanceOf(AcmeSyncError);
    expect(err.code).toBe(ERROR_CODES.ACME_NOT_FOUND);
    expect(err.retriable).toBe(false);
    expect(err.stage).toBe('enrich');
  });

  it('refuses a wrong API key permanently without the key in the error, its JSON or its cause', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-wrong');
    const canary = 'ak_canary_wrong_key_0123456789';
    await tenants.updateSecrets(t.tenantId, (s) => ({ ...s, apiKey: canary }));
    const err = await caught(client(t.tenantId).list('user', {}));
    expect(err.code).toBe(ERROR_CODES.ACME_AUTH_FAILED);
    expect(err.stage).toBe('poll');
    expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain('canary_wrong_key');
  });

  it('picks up a rotated API key from the database after a 401', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-rotated');
    await tenants.updateSecrets(t.tenantId, (s) => ({ ...s, apiKey: 'ak_revoked_key' }));
    const acme = client(t.tenantId);
    expect((await caught(acme.list('user', {}))).code).toBe(ERROR_CODES.ACME_AUTH_FAILED);
    // An operator stores the new key; the same client instance uses it after one 401.
    await tenants.updateSecrets(t.tenantId, (s) => ({ ...s, apiKey: t.apiKey }));
    const page = await acme.list('user', {});
    expect(page.data).toEqual([]);
  });

  it('waits Retry-After on 429 and gets every answer', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-429', { rateLimit: { capacity: 2, refill_per_second: 2 } });
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 6 });
    const metrics = new promClient.Registry();
    const acme = client(t.tenantId, { metrics });
    const got = await Promise.all(seeded.contacts.map((c) => acme.get('contact', c.id)));
    expect(got.map((c) => c.id)).toEqual(seeded.contacts.map((c) => c.id));
    expect(await metricValue(metrics, 'acme_sync_acme_api_rate_limit_waits_total')).toBeGreaterThan(0);
    expect(await metricValue(metrics, 'acme_sync_acme_api_requests_total', { outcome: 'rate_limited' })).toBeGreaterThan(0);
    expect(await metricValue(metrics, 'acme_sync_acme_api_requests_total', { outcome: 'ok', operation: 'get_contact' })).toBe(6);
  });

  it('retries 5xx answers and refused connections until Acme answers', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-outage');
    const seeded = seedAccount(env.sandbox, t.accountId, { contacts: 4 });
    const metrics = new promClient.Registry();
    const acme = client(t.tenantId, { metrics });
    env.sandbox.faults.set({ seed: 3, outage5xx: 0.4, refuse: 0.2 });
    try {
      for (const c of seeded.contacts) expect((await acme.get('contact', c.id)).id).toBe(c.id);
    } finally {
      env.sandbox.faults.set({ outage5xx: 0, refuse: 0 });
    }
    const failures = (await metricValue(metrics, 'acme_sync_acme_api_requests_total', { outcome: 'server_error' }))
      + (await metricValue(metrics, 'acme_sync_acme_api_requests_total', { outcome: 'network_error' }));
    expect(failures).toBeGreaterThan(0);
  });

  it('gives up on a lasting outage with a retriable deadline error', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-down');
    const acme = client(t.tenantId, { retry: { ...FAST_RETRY, retries: 1 } });
    env.sandbox.faults.set({ outage5xx: 1 });
    try {
      const err = await caught(acme.list('contact', {}));
      expect(err.retriable).toBe(true);
      expect(err.stage).toBe('poll');
    } finally {
      env.sandbox.faults.set({ outage5xx: 0 });
    }
  });

  it('times a request out and retries it', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-slow');
    const acme = client(t.tenantId, { requestTimeoutMs: 100, retry: { ...FAST_RETRY, retries: 2 } });
    env.sandbox.faults.set({ slowMs: 400, slow: 1 });
    try {
      const err = await caught(acme.list('contact', {}));
      expect(err.retriable).toBe(true);
      // The tenant-visible text is fixed (docs/SECURITY.md); that it was a timeout is in the context, for logs.
      expect(err.message).toMatch(/^Acme did not answer in time/);
      expect(((err.cause as AcmeSyncError | undefined) ?? err).context.timeout).toBe(true);
    } finally {
      env.sandbox.faults.set({ slowMs: 0 });
    }
  });

  it('creates and deletes a webhook subscription, deleting twice is fine', async () => {
    const t = await createApiKeyTenant(env, tenants, 'key-hooks');
    const acme = client(t.tenantId);
    const sub = await acme.createWebhookSubscription({ url: 'http://127.0.0.1:9/webhooks/acme/key-hooks' });
    expect(sub.id).toMatch(/^whs_/);
    expect(sub.secret).toMatch(/^whsec_/);
    await acme.deleteWebhookSubscription(sub.id);
    await acme.deleteWebhookSubscription(sub.id);
  });
});

describe('the Acme client with an OAuth tenant', () => {
  it('refreshes the access token shortly before it expires and persists the rotated pair', async () => {
    const t = await createOAuthTenant(env, tenants, app, 'oauth-early');
    const before = (await tenants.getWithSecrets(t.tenantId))!.secrets.oauth!;
    // Our clock runs 59m50s ahead: the 1 h token is about to expire.
    const clock = { now: () => Date.now() + 3_590_000, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
    const metrics = new promClient.Registry();
    await client(t.tenantId, { clock, metrics }).list('user', {});
    const after = (await tenants.getWithSecrets(t.tenantId))!.secrets.oauth!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(await metricValue(metrics, 'acme_sync_acme_api_requests_total', { outcome: 'unauthorized' })).toBe(0);
  });

  it('refreshes once on a 401 and retries the request with the new token', async () => {
    const t = await createOAuthTenant(env, tenants, app, 'oauth-401');
    const acme = client(t.tenantId);
    await acme.list('user', {});
    const before = (await tenants.getWithSecrets(t.tenantId))!.secrets.oauth!;
    env.sandbox.auth.expireAccessTokens(t.accountId);
    const metrics = new promClient.Registry();
    const again = client(t.tenantId, { metrics });
    await again.list('user', {});
    const after = (await tenants.getWithSecrets(t.tenantId))!.secrets.oauth!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(await metricValue(metrics, 'acme_sync_acme_api_requests_total', { outcome: 'unauthorized' })).toBe(1);
    // The rotated refresh token is the live one: another expiry is survived too.
    env.sandbox.auth.expireAccessTokens(t.accountId);
    await again.list('user', {});
  });

  it('lets two processes refreshing at once share one refresh without revoking the token family', async () => {
    const t = await createOAuthTenant(env, tenants, app, 'oauth-race');
    env.sandbox.auth.expireAccessTokens(t.accountId);
    const a = client(t.tenantId, { pool: stack.pool });
    const b = client(t.tenantId, { pool: stack.pool });
    await Promise.all([a.list('user', {}), b.list('user', {}), a.list('contact', {}), b.list('contact', {})]);
    // A revoked family would make this refresh fail with invalid_grant.
    env.sandbox.auth.expireAccessTokens(t.accountId);
    await client(t.tenantId).list('user', {});
  });

  it('fails permanently without the refresh token in the error when Acme refuses the refresh', async () => {
    const t = await createOAuthTenant(env, tenants, app, 'oauth-revoked');
    const stored = (await tenants.getWithSecrets(t.tenantId))!.secrets.oauth!;
    await tenants.updateSecrets(t.tenantId, (s) => ({ ...s, oauth: { ...stored, refreshToken: 'rt_canary_not_issued', expiresAt: 0 } }));
    const err = await caught(client(t.tenantId).list('user', {}));
    expect(err.code).toBe(ERROR_CODES.ACME_AUTH_FAILED);
    expect(err.retriable).toBe(false);
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('canary');
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain(stored.accessToken);
  });
});

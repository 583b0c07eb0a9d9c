import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { KafkaProducer } from '../../src/kafka/index.js';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { createAdminApp, type AdminDeps } from '../../src/admin/app.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import { createLogger } from '../../src/logger.js';
import { createBackfillRunner, type BackfillRunner } from '../../src/producers/poller/backfill.js';
import type { EventPublisher } from '../../src/producers/publisher.js';
import { createPolling } from '../../src/processes/admin.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { REDIRECT_URI, registerOAuthApp, sandboxOutbound, seedAccount, startSandbox, tenantsOf, type OAuthApp, type RunningSandbox } from '../acme/sandbox-tenants.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let producer: KafkaProducer;
let publisher: EventPublisher;
let backfills: BackfillRunner;
let polling: FastifyInstance;
let oauthApp: OAuthApp;
let app: FastifyInstance;
let operator: string;
const logLines: string[] = [];
const RETRY = { initialDelayMs: 10, maxDelayMs: 100, retries: 5, deadlineMs: 5_000 };
const CANARY_KEY = 'ak_canary_admin_0f1e2d3c4b5a';
const CANARY_WHSEC = 'whsec_Y2FuYXJ5LXdlYmhvb2stc2VjcmV0LTAxMjM0NTY3';

function deps(extra: Partial<AdminDeps> = {}): AdminDeps {
  return {
    pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/', backfills,
    oauth: { ...oauthApp, redirectUri: REDIRECT_URI }, acmeRetry: RETRY, acmeOutbound: sandboxOutbound(),
    logger: createLogger({ level: 'debug', name: 'admin-test', destination: new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } }) }),
    ...extra,
  };
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  env = await startSandbox();
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  polling = await createPolling({ config: stack.config, logger: createLogger({ level: 'silent', name: 'admin-test' }), runtime: stack, clientFor: acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() }) });
  ({ kafkaProducer: producer, eventPublisher: publisher, backfills } = polling);
  oauthApp = registerOAuthApp(env);
  app = createAdminApp(deps());
  operator = (await createAdminTokenStore(stack.pool).issue({ tenantId: null, description: 'test operator' })).token;
});
afterAll(async () => {
  await app?.close();
  await backfills?.close();
  await polling?.close();
  await env?.sandbox.close();
  await stack?.close();
});

const call = (token: string | undefined, opts: InjectOptions) =>
  app.inject({ ...opts, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers } });

async function createTenant(id: string, extra: Record<string, unknown> = {}, token = operator) {
  const res = await call(token, { method: 'POST', url: '/admin/tenants', payload: { id, name: `Tenant ${id}`, acmeBaseUrl: env.baseUrl, authKind: 'api_key', ...extra } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function tenantToken(tenantId: string): Promise<string> {
  const res = await call(operator, { method: 'POST', url: `/admin/tenants/${tenantId}/tokens`, payload: { description: 'x' } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().token;
}

async function waitForBackfill(token: string, tenantId: string) {
  return vi.waitFor(async () => {
    const res = await call(token, { method: 'GET', url: `/admin/tenants/${tenantId}/backfill` });
    expect(res.statusCode).toBe(200);
    const progress = res.json();
    expect(['queued', 'running'], 'the backfill finished').not.toContain(progress.status);
    return progress;
  }, { timeout: 15_000, interval: 50 });
}

describe('tenants through the admin API', () => {
  it('creates, reads and lists a tenant without ever answering its secrets', async () => {
    const created = await createTenant('adm-create', { credentials: { apiKey: CANARY_KEY, webhookSecrets: [CANARY_WHSEC] }, settings: { defaultTimeZone: 'Europe/Berlin' } });
    expect(created).toMatchObject({ id: 'adm-create', status: 'active', authKind: 'api_key', secretsSet: { apiKey: true, oauth: false, webhookSecrets: 1 }, settings: { defaultTimeZone: 'Europe/Berlin' } });
    const read = await call(operator, { method: 'GET', url: '/admin/tenants/adm-create' });
    const list = await call(operator, { method: 'GET', url: '/admin/tenants' });
    for (const body of [JSON.stringify(created), read.body, list.body]) {
      expect(body).not.toContain('canary');
      expect(body).not.toContain('Y2FuYXJ5');
    }
    expect(list.json().data.map((t: { id: string }) => t.id)).toContain('adm-create');
  });

  it('updates only allow-listed fields, merges settings and takes write-only credentials', async () => {
    await createTenant('adm-update');
    // A new API key is checked with Acme before it is stored (docs/SECURITY.md): the canary is a real sandbox key.
    env.sandbox.provisionAccount({ name: 'adm-update', api_key: CANARY_KEY });
    const res = await call(operator, { method: 'PATCH', url: '/admin/tenants/adm-update', payload: { name: 'Renamed', settings: { flows: { calendar: false } }, credentials: { apiKey: CANARY_KEY } } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Renamed', settings: { flows: { calendar: false, touchpoints: true } }, secretsSet: { apiKey: true } });
    expect(res.body).not.toContain('canary');
    expect((await tenants.getWithSecrets('adm-update'))!.secrets.apiKey).toBe(CANARY_KEY);
  });

  it.each([
    ['an unknown field', 'POST', '/admin/tenants', { id: 'adm-x', name: 'X', acmeBaseUrl: 'http://a', authKind: 'api_key', status: 'paused' }, 'body.status'],
    ['a missing field', 'POST', '/admin/tenants', { id: 'adm-x', acmeBaseUrl: 'http://a', authKind: 'api_key' }, 'body.name'],
    ['a wrong type', 'POST', '/admin/tenants', { id: 'adm-x', name: 5, acmeBaseUrl: 'http://a', authKind: 'api_key' }, 'body.name'],
    ['a bad enum', 'POST', '/admin/tenants', { id: 'adm-x', name: 'X', acmeBaseUrl: 'http://a', authKind: 'password' }, 'body.authKind'],
    ['a nested credential field', 'POST', '/admin/tenants', { id: 'adm-x', name: 'X', acmeBaseUrl: 'http://a', authKind: 'api_key', credentials: { oauth: {} } }, 'body.credentials.oauth'],
    ['a bad time zone in settings', 'PATCH', '/admin/tenants/adm-create', { settings: { defaultTimeZone: 'Mars/Olympus' } }, 'settings.defaultTimeZone'],
    ['a read-only field on update', 'PATCH', '/admin/tenants/adm-create', { status: 'paused' }, 'body.status'],
    ['a malformed tenant ID', 'GET', '/admin/tenants/NOT%20VALID', undefined, 'params.id'],
    ['a bad backfill date', 'POST', '/admin/tenants/adm-create/backfill', { since: 'yesterday' }, 'body.since'],
  ] as const)('answers 400 naming the field for %s', async (_what, method, url, payload, field) => {
    const res = await call(operator, { method, url, ...(payload === undefined ? {} : { payload }) });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().error.field).toBe(field);
    expect(res.json().error.message).toContain(field);
  });

  it('pauses and resumes a tenant', async () => {
    await createTenant('adm-pause');
    expect((await call(operator, { method: 'POST', url: '/admin/tenants/adm-pause/pause' })).json().status).toBe('paused');
    expect((await call(operator, { method: 'POST', url: '/admin/tenants/adm-pause/resume' })).json().status).toBe('active');
  });

  it('deletes a tenant (operator only), after which it is unknown', async () => {
    await createTenant('adm-delete');
    const own = await tenantToken('adm-delete');
    expect((await call(own, { method: 'DELETE', url: '/admin/tenants/adm-delete' })).statusCode).toBe(403);
    expect((await call(operator, { method: 'DELETE', url: '/admin/tenants/adm-delete' })).statusCode).toBe(204);
    expect((await call(operator, { method: 'GET', url: '/admin/tenants/adm-delete' })).statusCode).toBe(404);
  });
});

describe('admin authentication', () => {
  it('refuses requests without a token, with an unknown token and with a revoked token', async () => {
    expect((await call(undefined, { method: 'GET', url: '/admin/tenants' })).statusCode).toBe(401);
    expect((await call('ast_made_up', { method: 'GET', url: '/admin/tenants' })).statusCode).toBe(401);
    await createTenant('adm-revoke');
    const res = await call(operator, { method: 'POST', url: '/admin/tenants/adm-revoke/tokens', payload: {} });
    const { token, tokenId } = res.json();
    expect((await call(token, { method: 'GET', url: '/admin/tenants/adm-revoke' })).statusCode).toBe(200);
    expect((await call(operator, { method: 'DELETE', url: `/admin/tokens/${tokenId}` })).statusCode).toBe(204);
    expect((await call(token, { method: 'GET', url: '/admin/tenants/adm-revoke' })).statusCode).toBe(401);
  });

  it('stores tokens only as SHA-256 hashes', async () => {
    const { rows } = await stack.pool.query('SELECT * FROM admin_tokens');
    expect(JSON.stringify(rows)).not.toContain(operator);
    expect(rows.some((r) => /^[0-9a-f]{64}$/.test(r.token_sha256))).toBe(true);
  });

  it('accepts the bootstrap token as an operator', async () => {
    const bootstrapApp = createAdminApp(deps({ bootstrapToken: 'bootstrap-token-0123456789abcdef' }));
    try {
      const res = await bootstrapApp.inject({ method: 'GET', url: '/admin/tenants', headers: { authorization: 'Bearer bootstrap-token-0123456789abcdef' } });
      expect(res.statusCode).toBe(200);
    } finally {
      await bootstrapApp.close();
    }
  });

  it('limits the request rate per token', async () => {
    const limited = createAdminApp(deps({ rateLimitPerMinute: 3 }));
    const other = (await createAdminTokenStore(stack.pool).issue({ tenantId: null })).token;
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await limited.inject({ method: 'GET', url: '/admin/tenants', headers: { authorization: `Bearer ${operator}` } })).statusCode);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      expect((await limited.inject({ method: 'GET', url: '/admin/tenants', headers: { authorization: `Bearer ${other}` } })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('answers a token for tenant A with 404 for tenant B on every endpoint, exactly as for a tenant that does not exist', async () => {
    await createTenant('adm-a');
    await createTenant('adm-b');
    const tokenA = await tenantToken('adm-a');
    const endpoints: Array<{ method: InjectOptions['method']; path: string; payload?: object; own: number[] }> = [
      { method: 'GET', path: '', own: [200] },
      { method: 'PATCH', path: '', payload: { name: 'Hijacked' }, own: [200] },
      { method: 'DELETE', path: '', own: [403] },
      { method: 'POST', path: '/pause', own: [200] },
      { method: 'POST', path: '/resume', own: [200] },
      { method: 'POST', path: '/activate', payload: {}, own: [200, 502] },
      { method: 'GET', path: '/backfill', own: [200, 404] },
      { method: 'POST', path: '/backfill', payload: {}, own: [202] },
      { method: 'GET', path: '/oauth/start', own: [409] },
      { method: 'POST', path: '/tokens', payload: {}, own: [403] },
    ];
    for (const e of endpoints) {
      const foreign = await call(tokenA, { method: e.method, url: `/admin/tenants/adm-b${e.path}`, ...(e.payload ? { payload: e.payload } : {}) });
      const missing = await call(tokenA, { method: e.method, url: `/admin/tenants/adm-nope${e.path}`, ...(e.payload ? { payload: e.payload } : {}) });
      expect(foreign.statusCode, `${e.method} ${e.path}: ${foreign.body}`).toBe(404);
      expect(foreign.json().error.code).toBe('UNKNOWN_TENANT');
      expect(foreign.body.replace('adm-b', 'X')).toBe(missing.body.replace('adm-nope', 'X'));
      const own = await call(tokenA, { method: e.method, url: `/admin/tenants/adm-a${e.path}`, ...(e.payload ? { payload: e.payload } : {}) });
      expect(e.own, `${e.method} ${e.path} on its own tenant: ${own.statusCode} ${own.body}`).toContain(own.statusCode);
    }
    const list = await call(tokenA, { method: 'GET', url: '/admin/tenants' });
    expect(list.json().data.map((t: { id: string }) => t.id)).toEqual(['adm-a']);
    expect((await call(tokenA, { method: 'POST', url: '/admin/tenants', payload: { id: 'adm-c', name: 'C', acmeBaseUrl: env.baseUrl, authKind: 'api_key' } })).statusCode).toBe(403);
    expect((await tenants.get('adm-b'))!.name).toBe('Tenant adm-b');
    await backfills.close().catch(() => undefined);
    backfills = createBackfillRunner({ pool: stack.pool, tenants, publisher, clientFor: acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() }) });
  });
});

describe('activating a tenant', () => {
  it('activates an API-key tenant: checks the key, subscribes the webhook URL, stores the secret and backfills', async () => {
    const { account, api_key } = env.sandbox.provisionAccount({ name: 'adm-key' });
    seedAccount(env.sandbox, account.id, { contacts: 3, appointments: 2, activities: 2 });
    await createTenant('adm-key', { acmeAccountId: account.id });
    await call(operator, { method: 'POST', url: '/admin/tenants/adm-key/pause' });
    const refused = await call(operator, { method: 'POST', url: '/admin/tenants/adm-key/activate', payload: { apiKey: 'ak_wrong_key_canary' } });
    expect(refused.statusCode).toBe(502);
    expect(refused.json().error.code).toBe('ACME_AUTH_FAILED');
    expect(refused.body).not.toContain('wrong_key_canary');

    const app2 = createAdminApp(deps({ backfills }));
    try {
      const res = await app2.inject({ method: 'POST', url: '/admin/tenants/adm-key/activate', headers: { authorization: `Bearer ${operator}` }, payload: { apiKey: api_key, backfillSince: '2020-01-01' } });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.tenant).toMatchObject({ status: 'active', secretsSet: { apiKey: true, webhookSecrets: 1 } });
      expect(body.backfillRunId).toBeTruthy();
      expect(res.body).not.toContain(api_key);
      const subs = env.sandbox.subscriptions.list(account.id);
      expect(subs.map((s) => [s.id, s.url])).toEqual([[body.webhookSubscriptionId, 'http://127.0.0.1:9/webhooks/acme/adm-key']]);
      const stored = (await tenants.getWithSecrets('adm-key'))!;
      expect(stored.webhookSubscriptionId).toBe(body.webhookSubscriptionId);
      expect(stored.secrets.webhookSecrets[0]).toMatch(/^whsec_/);
      const done = await waitForBackfill(operator, 'adm-key');
      expect(done).toMatchObject({ runId: body.backfillRunId, status: 'succeeded', records: 1 + 3 + 2 + 2 });
    } finally {
      await app2.close();
    }
  });

  it('connects an OAuth tenant end to end: start, Acme authorize, callback with state, code exchanged, tokens stored encrypted, activated', async () => {
    const { account } = env.sandbox.provisionAccount({ name: 'adm-oauth' });
    seedAccount(env.sandbox, account.id, { contacts: 2, appointments: 1, activities: 1 });
    await createTenant('adm-oauth', { authKind: 'oauth', acmeAccountId: account.id });
    const notYet = await call(operator, { method: 'POST', url: '/admin/tenants/adm-oauth/activate', payload: {} });
    expect(notYet.statusCode).toBe(409);

    const start = await call(operator, { method: 'GET', url: '/admin/tenants/adm-oauth/oauth/start' });
    expect(start.statusCode).toBe(302);
    const authorize = new URL(start.headers.location as string);
    expect(authorize.origin + authorize.pathname).toBe(`${env.baseUrl}/oauth/authorize`);
    expect(authorize.searchParams.get('client_id')).toBe(oauthApp.clientId);
    const state = authorize.searchParams.get('state')!;
    const acme = await fetch(authorize, { redirect: 'manual' });
    const back = new URL(acme.headers.get('location')!);
    expect(back.searchParams.get('state')).toBe(state);

    const forged = await app.inject({ method: 'GET', url: `/oauth/callback?code=${back.searchParams.get('code')}&state=forged-state` });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error.field).toBe('query.state');

    const callback = await app.inject({ method: 'GET', url: `/oauth/callback${back.search}` });
    expect(callback.statusCode, callback.body).toBe(200);
    expect(callback.json().tenant).toMatchObject({ id: 'adm-oauth', status: 'active', secretsSet: { oauth: true, webhookSecrets: 1 } });
    const stored = (await tenants.getWithSecrets('adm-oauth'))!.secrets.oauth!;
    expect(stored.accessToken).toMatch(/^at_/);
    expect(callback.body).not.toContain(stored.accessToken);
    expect(callback.body).not.toContain(stored.refreshToken);
    const { rows } = await stack.pool.query('SELECT * FROM tenants WHERE id = $1', ['adm-oauth']);
    expect(JSON.stringify(rows)).not.toContain(stored.refreshToken);

    const replay = await app.inject({ method: 'GET', url: `/oauth/callback${back.search}` });
    expect(replay.statusCode).toBe(400);
    expect(replay.json().error.code).toBe('OAUTH_STATE_INVALID');
    expect(env.sandbox.subscriptions.list(account.id)).toHaveLength(1);
  });

  it('asks for the write scope at connect time and says clearly when the grant lacks it (issue 15)', async () => {
    const { account } = env.sandbox.provisionAccount({ name: 'adm-oauth-ro' });
    seedAccount(env.sandbox, account.id, { contacts: 1, appointments: 1, activities: 0 });
    await createTenant('adm-oauth-ro', { authKind: 'oauth', acmeAccountId: account.id });
    const start = await call(operator, { method: 'GET', url: '/admin/tenants/adm-oauth-ro/oauth/start' });
    const authorize = new URL(start.headers.location as string);
    expect(authorize.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['crm.read', 'crm.write', 'webhooks']));
    // The customer grants reading only.
    authorize.searchParams.set('scope', 'crm.read webhooks');
    const back = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location')!);
    const callback = await app.inject({ method: 'GET', url: `/oauth/callback${back.search}` });
    expect(callback.statusCode, callback.body).toBe(200);
    expect(callback.json().tenant).toMatchObject({ id: 'adm-oauth-ro', status: 'active' });
    expect(callback.json().warnings).toEqual([expect.stringMatching(/crm\.write.*Reconnect/)]);
  });

  it('refuses a callback whose user denied consent, and consumes the state', async () => {
    await createTenant('adm-deny', { authKind: 'oauth' });
    const start = await call(operator, { method: 'GET', url: '/admin/tenants/adm-deny/oauth/start' });
    const state = new URL(start.headers.location as string).searchParams.get('state')!;
    const denied = await app.inject({ method: 'GET', url: `/oauth/callback?state=${state}&error=access_denied` });
    expect(denied.statusCode).toBe(400);
    expect(denied.json().error.code).toBe('OAUTH_DENIED');
    expect((await tenants.get('adm-deny'))!.secretsSet.oauth).toBe(false);
  });

  it('never writes a tenant secret, an OAuth code or token to the logs', async () => {
    const logs = logLines.join('');
    expect(logs).toContain('/oauth/callback');
    const oauth = (await tenants.getWithSecrets('adm-oauth'))!.secrets.oauth!;
    expect(logs).not.toContain(oauth.refreshToken);
    expect(logs).not.toMatch(/code=/);
    expect(logs).not.toContain('canary');
    expect(logs).not.toContain('Y2FuYXJ5');
  });
});

/**
 * Issue #11, one test per attack class, on the real stack (Kafka, registry, PostgreSQL),
 * Acme's sandbox as Acme and the adversary's own servers (support/servers.ts):
 *
 * 1. a tenant cannot make any process send our OAuth client secret anywhere but the
 *    allowed token endpoint;
 * 2. a tenant-chosen or redirected URL to a loopback/private address is refused before
 *    any connection is made;
 * 3. tenant-visible errors (API answers, backfill status, status endpoint) contain no
 *    upstream bytes, and network failures are indistinguishable (no port scanning);
 * 4. a wrong API key is refused at activation, even with a warm per-tenant client;
 * 5. a credential or base-URL change is in effect in every running process within 5 s;
 * 6. 1,000 unauthenticated requests meet 429s and cause no database writes.
 *
 * Each of these failed on the code before the fix (docs/SECURITY.md says how it was checked).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { KafkaProducer } from '../../src/kafka/index.js';
import pg from 'pg';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { createSecret } from '../../sandbox/src/webhooks/signing.js';
import { createAdminApp, type AdminDeps } from '../../src/admin/app.js';
import { createOAuthStateStore } from '../../src/admin/oauth-states.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { acmeClientsFor, type AcmeClient } from '../../src/acme/client.js';
import { ACME_PUBLIC_TEXT, acmeOutboundOf, createAcmeOutbound, type AcmeOutbound } from '../../src/acme/outbound.js';
import { ERROR_CODES } from '../../src/errors/index.js';

import { createBackfillRunner, type BackfillRunner } from '../../src/producers/poller/backfill.js';
import { createEventPublisher, type EventPublisher } from '../../src/producers/publisher.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { caught } from '../helpers/caught.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { REDIRECT_URI, registerOAuthApp, startSandbox, tenantsOf, type OAuthApp, type RunningSandbox } from '../acme/sandbox-tenants.js';
import { eventId, sign, startEdge, webhookEvent, type TestEdge } from '../producers/webhooks/harness.js';
import { closedPort, startServer, startTrap, type TestServer } from './support/servers.js';

const MARKER = 'MARKER-internal-7f3a';
const RETRY = { retries: 1, initialDelayMs: 10, maxDelayMs: 50, deadlineMs: 1_000 };

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let oauthApp: OAuthApp;
let trap: TestServer;
let hostile: TestServer;
let redirector: TestServer;
let recorder: TestServer;
let deadPort: number;
let producer: KafkaProducer;
let publisher: EventPublisher;
/** The outbound client every process builds from this file's configuration. */
let configured: AcmeOutbound;
const closers: Array<() => Promise<unknown>> = [];

/** What the hostile "Acme" answers, per test case. */
let hostileMode: 'status500' | 'status400json' | 'status401' | 'html200' | 'reset' | 'hang' | 'huge' = 'status500';

beforeAll(async () => {
  env = await startSandbox();
  trap = await startTrap();
  redirector = await startServer((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${trap.port}/subjects/acme.contacts.v1-value?permanent=true` }).end());
  hostile = await startServer((req, res) => {
    switch (hostileMode) {
      case 'status500': return res.writeHead(500, { 'content-type': 'text/plain' }).end(`${MARKER} at InternalService.handle (/srv/internal.js:12)`);
      case 'status400json': return res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: MARKER, message: `${MARKER} says no` } }));
      case 'status401': return res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_token', error_description: MARKER }));
      case 'html200': return res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${MARKER}</html>`);
      case 'reset': return req.socket.destroy();
      case 'hang': return undefined;
      case 'huge': return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"data":[],"x":"${MARKER.repeat(10_000)}"}`);
    }
  });
  recorder = await startServer((req, res) => {
    const m = /^\/v1\/contacts\/([^/?]+)/.exec(req.url ?? '');
    if (m) return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(contact(m[1]!)));
    return res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"next_cursor":null}');
  });
  deadPort = await closedPort();
  // The operator's allow-list: the sandbox and the origins this file's tenants may pick.
  // The trap (an internal service) is not on it. Loopback needs the development allowance.
  stack = await createIsolatedStack(inject('stack'), {
    ACME_ALLOWED_BASE_URLS: [env.baseUrl, hostile.url, redirector.url, recorder.url, `http://127.0.0.1:${deadPort}`].join(','),
    ACME_ALLOW_PRIVATE_NETWORK: 'true',
    ACME_MAX_RESPONSE_BYTES: '65536',
  });
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  oauthApp = registerOAuthApp(env);
  configured = acmeOutboundOf(stack.config);
  producer = stack.kafka.producer();
  await producer.connect();
  publisher = createEventPublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 5 });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await publisher?.close();
  await producer?.disconnect();
  await configured?.close();
  for (const s of [trap, hostile, redirector, recorder]) await s?.close();
  await env?.sandbox.close();
  await stack?.close();
});

function contact(id: string) {
  return { id, first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: null, company: null, version: 1, created_at: '2025-03-06T09:00:00.000Z', updated_at: '2025-03-06T09:00:00.000Z', deleted_at: null };
}

/** The admin process as src/cli/admin.ts composes it: one shared client per tenant, the configured outbound. */
function adminProcess(extra: Partial<AdminDeps> & { pool?: pg.Pool } = {}): { app: FastifyInstance; clientFor: (id: string) => AcmeClient; backfills: BackfillRunner } {
  const pool = extra.pool ?? stack.pool;
  const acmeOutbound = extra.acmeOutbound ?? configured;
  const clientFor = acmeClientsFor({ tenants, pool, outbound: acmeOutbound, retry: RETRY, requestTimeoutMs: 1_000, ...oauthApp });
  const backfills = createBackfillRunner({ pool, tenants, publisher, clientFor });
  const app = createAdminApp({
    pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/', oauth: { ...oauthApp, redirectUri: REDIRECT_URI }, clientFor, backfills,
    acmeTimeoutMs: 1_000, acmeRetry: RETRY, ...extra, acmeOutbound,
  });
  closers.push(() => app.close(), () => backfills.close());
  return { app, clientFor, backfills };
}

const as = (app: FastifyInstance, token: string | undefined, opts: InjectOptions) =>
  app.inject({ ...opts, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...opts.headers } });

let operatorToken: string | undefined;
async function operator(): Promise<string> {
  operatorToken ??= (await createAdminTokenStore(stack.pool).issue({ tenantId: null })).token;
  return operatorToken;
}
async function tokenFor(tenantId: string): Promise<string> {
  return (await createAdminTokenStore(stack.pool).issue({ tenantId })).token;
}
const uid = (p: string) => `${p}-${randomBytes(3).toString('hex')}`;

describe('6. rate limiting before authentication (1,000 unauthenticated requests)', () => {
  it('answers 429 per client address before any token lookup, and no request writes to the database', async () => {
    // Its own connections, named, so their statistics are flushed (at exit) before we read them.
    const appName = uid('sec-ratelimit');
    const pool = new pg.Pool({ connectionString: stack.config.DATABASE_URL, max: 4, options: `-c search_path=${stack.config.DATABASE_SCHEMA}`, application_name: appName });
    const statements: string[] = [];
    const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
    (pool as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
      statements.push(String(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text));
      return query(...args);
    };
    const tuples = async () => {
      await stack.pool.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await stack.pool.query<{ n: string }>(
        'SELECT COALESCE(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_user_tables WHERE schemaname = $1', [stack.config.DATABASE_SCHEMA],
      );
      return Number(rows[0]!.n);
    };
    const before = await tuples();
    const { app } = adminProcess({ pool, addressRateLimitPerMinute: 100 });
    const codes: Record<string, number[]> = { admin: [], callback: [] };
    for (let i = 0; i < 1_000; i++) {
      if (i % 5 === 4) {
        codes.callback!.push((await app.inject({ method: 'GET', url: `/oauth/callback?state=${randomBytes(12).toString('hex')}&code=x` })).statusCode);
      } else {
        codes.admin!.push((await as(app, i % 2 === 0 ? `ast_${randomBytes(16).toString('base64url')}` : undefined, { method: 'GET', url: '/admin/tenants' })).statusCode);
      }
    }
    expect(codes.admin!.slice(0, 100).every((c) => c === 401)).toBe(true);
    expect(codes.admin!.filter((c) => c === 429).length).toBe(codes.admin!.length - 100);
    expect(codes.callback!.filter((c) => c === 429).length).toBe(codes.callback!.length - 100);
    // Once limited, the token store is not asked at all: one lookup per allowed garbage token.
    const lookups = statements.filter((s) => /admin_tokens/.test(s));
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups.length).toBeLessThanOrEqual(50);
    expect(statements.filter((s) => /^\s*(INSERT|UPDATE|DELETE)\b/i.test(s))).toEqual([]);
    await app.close();
    await pool.end();
    // Statistics of these connections are flushed when they exit.
    await expect.poll(async () => (await stack.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [appName])).rows[0].n).toBe(0);
    expect(await tuples()).toBe(before);
  });
});

describe('1. our OAuth client secret goes only to the allowed token endpoint', () => {
  it('refuses a base URL outside the allow-list from tenant and operator, and a row pointing elsewhere never gets the secret', async () => {
    const { app, clientFor } = adminProcess();
    const id = uid('sec-oauth');
    const created = await as(app, await operator(), { method: 'POST', url: '/admin/tenants', payload: { id, name: id, acmeBaseUrl: env.baseUrl, authKind: 'oauth' } });
    expect(created.statusCode, created.body).toBe(201);
    const own = await tokenFor(id);
    const elsewhere = [trap.url, `http://0x7f000001:${trap.port}`, `http://[::1]:${trap.port}`, `http://localhost:${trap.port}`, env.baseUrl.replace('http://', 'http://user:pass@'), 'https://acme.evil.example'];
    for (const url of elsewhere) {
      for (const token of [own, await operator()]) {
        const res = await as(app, token, { method: 'PATCH', url: `/admin/tenants/${id}`, payload: { acmeBaseUrl: url } });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(400);
        expect(res.json().error.field).toBe('body.acmeBaseUrl');
      }
    }
    expect((await tenants.get(id))!.acmeBaseUrl).toBe(env.baseUrl);

    // A row that points elsewhere anyway (written before the allow-list existed, or by hand).
    await tenants.update(id, { acmeBaseUrl: trap.url });
    const start = await as(app, own, { method: 'GET', url: `/admin/tenants/${id}/oauth/start` });
    expect(start.statusCode).toBe(409);
    const state = await createOAuthStateStore(stack.pool).issue(id, REDIRECT_URI);
    const callback = await app.inject({ method: 'GET', url: `/oauth/callback?state=${state}&code=code_from_anywhere` });
    expect(callback.json().error.code).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    // Token refresh, in the admin process, the consumers and the edge (all hold our client secret).
    await tenants.updateSecrets(id, (s) => ({ ...s, oauth: { accessToken: 'at_expiring', refreshToken: 'rt_expiring', expiresAt: Date.now() } }));
    expect((await caught(clientFor(id).list('user', {}))).code).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    const consumers = acmeClientsFor({ tenants, outbound: configured, retry: RETRY, stages: { get: 'enrich' }, ...oauthApp });
    expect((await caught(consumers(id).get('contact', 'con_1'))).code).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    const edge = await startEdge(stack);
    closers.push(() => edge.app.close());
    const secret = createSecret();
    await tenants.updateSecrets(id, (s) => ({ ...s, webhookSecrets: [secret] }));
    const thin = webhookEvent(eventId(), 'contact.updated', { id: 'con_1', object_type: 'contact', version: 1 }, id);
    const delivery = sign(thin, [secret]);
    await edge.app.inject({ method: 'POST', url: `/webhooks/acme/${id}`, headers: delivery.headers, payload: delivery.body });

    expect(trap.connections()).toBe(0);
    expect(JSON.stringify(trap.requests)).not.toContain(Buffer.from(oauthApp.clientId).toString('base64').slice(0, 8));
  });
});

describe('2. tenant-chosen and redirected URLs to internal addresses are refused before connecting', () => {
  const forms = (port: number) => [
    `http://127.0.0.1:${port}`, `http://0x7f000001:${port}`, `http://2130706433:${port}`, `http://0177.0.0.1:${port}`, `http://127.1:${port}`,
    `http://[::1]:${port}`, `http://[::ffff:127.0.0.1]:${port}`, `http://localhost:${port}`, `https://user:pass@127.0.0.1:${port}`,
  ];

  it('refuses every loopback form as a tenant base URL, and at connect time when a careless operator allow-listed it', async () => {
    const { app } = adminProcess();
    const careless = createAcmeOutbound({ allowedBaseUrls: [`http://127.0.0.1:${trap.port}`, `http://localhost:${trap.port}`, `http://[::1]:${trap.port}`] });
    closers.push(() => careless.close());
    const carelessAdmin = adminProcess({ acmeOutbound: careless });
    for (const url of forms(trap.port)) {
      const id = uid('sec-ssrf');
      await tenants.create({ id, name: id, acmeBaseUrl: env.baseUrl, authKind: 'api_key', secrets: { apiKey: 'ak_whatever_1234' } });
      const own = await tokenFor(id);
      const patched = await as(app, own, { method: 'PATCH', url: `/admin/tenants/${id}`, payload: { acmeBaseUrl: url } });
      expect(patched.statusCode, `${url}: ${patched.body}`).toBe(400);
      // Even with the row pointing there and an operator who allow-listed loopback names:
      await tenants.update(id, { acmeBaseUrl: url });
      const activated = await as(carelessAdmin.app, own, { method: 'POST', url: `/admin/tenants/${id}/activate`, payload: { apiKey: 'ak_whatever_5678' } });
      expect(activated.statusCode, `${url}: ${activated.body}`).toBe(502);
      expect(activated.json().error.code).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
      expect((await caught(carelessAdmin.clientFor(id).list('contact', {}))).code, url).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    }
    expect(trap.connections()).toBe(0);
  });

  it('never follows a redirect: activation, clean-up DELETE and tenant deletion stop at the 307, naming only its host', async () => {
    const { app, clientFor } = adminProcess();
    const id = uid('sec-redirect');
    await tenants.create({ id, name: id, acmeBaseUrl: redirector.url, authKind: 'api_key', secrets: { apiKey: 'ak_redirected_1234' } });
    await tenants.update(id, { webhookSubscriptionId: 'whs_1' });
    const own = await tokenFor(id);
    const activated = await as(app, own, { method: 'POST', url: `/admin/tenants/${id}/activate`, payload: {} });
    expect(activated.statusCode, activated.body).toBe(502);
    expect(activated.json().error).toMatchObject({ code: ERROR_CODES.ACME_REDIRECT });
    expect(activated.json().error.message).toContain(`127.0.0.1:${trap.port}`);
    expect(activated.body).not.toContain('/subjects');
    expect((await caught(clientFor(id).deleteWebhookSubscription('whs_1'))).code).toBe(ERROR_CODES.ACME_REDIRECT);
    expect((await as(app, await operator(), { method: 'DELETE', url: `/admin/tenants/${id}` })).statusCode).toBe(204);
    expect(redirector.requests.map((r) => r.method)).toEqual(expect.arrayContaining(['GET', 'DELETE']));
    expect(trap.connections()).toBe(0);
  });
});

describe('3. tenant-visible errors carry no upstream bytes', () => {
  const cases = ['status500', 'status400json', 'status401', 'html200', 'reset', 'hang', 'huge', 'refused'] as const;
  const fixed = Object.values(ACME_PUBLIC_TEXT);
  const seen = new Map<string, string>();

  it.each(cases)('%s: activation answer, backfill status and sync status show a fixed text and a reference only', async (mode) => {
    const { app } = adminProcess({ acmeTimeoutMs: 500 });
    if (mode !== 'refused') hostileMode = mode;
    const id = uid('sec-err');
    await tenants.create({ id, name: id, acmeBaseUrl: mode === 'refused' ? `http://127.0.0.1:${deadPort}` : hostile.url, authKind: 'api_key', secrets: { apiKey: 'ak_stored_1234' } });
    const own = await tokenFor(id);
    const activated = await as(app, own, { method: 'POST', url: `/admin/tenants/${id}/activate`, payload: { apiKey: 'ak_given_1234' } });
    expect(activated.statusCode).toBeGreaterThanOrEqual(400);
    const message: string = activated.json().error.message;
    expect(fixed.some((t) => message.startsWith(t)), message).toBe(true);
    expect(message).toMatch(/ref acr_[0-9a-f]{12}/);
    seen.set(mode, message.replace(/\s*\(.*\)$/, ''));

    const started = await as(app, own, { method: 'POST', url: `/admin/tenants/${id}/backfill`, payload: {} });
    expect(started.statusCode, started.body).toBe(202);
    await expect.poll(async () => (await as(app, own, { method: 'GET', url: `/admin/tenants/${id}/backfill` })).json().status, { timeout: 10_000 }).toBe('failed');
    const backfill = await as(app, own, { method: 'GET', url: `/admin/tenants/${id}/backfill` });
    const status = await as(app, own, { method: 'GET', url: `/admin/tenants/${id}/status` });
    // A fixed Acme text, or the retry helper's own deadline text when Acme never answered in the budget.
    const error = String(backfill.json().error);
    expect(fixed.some((t) => error.includes(t)) || /^DEADLINE_EXCEEDED: Gave up after \d+ attempt\(s\): deadline of \d+ ms reached$/.test(error), error).toBe(true);
    for (const body of [activated.body, backfill.body, status.body]) {
      expect(body).not.toContain(MARKER);
      expect(body).not.toMatch(/UND_ERR|ECONNREFUSED|ECONNRESET|socket|fetch failed|other side closed|InternalService/i);
    }
  });

  it('says the same for a reset connection, a refused one and no answer, so ports cannot be told apart', () => {
    expect(new Set([seen.get('reset'), seen.get('refused'), seen.get('hang')])).toEqual(new Set([ACME_PUBLIC_TEXT.timeout]));
  });
});

describe('4. credentials are verified at activation', () => {
  it('refuses a wrong API key with a live call even when the process holds a warm client, and keeps the working key', async () => {
    const { app, clientFor } = adminProcess();
    const { account, api_key } = env.sandbox.provisionAccount({ name: 'sec-verify' });
    const id = uid('sec-verify');
    await tenants.create({ id, name: id, acmeBaseUrl: env.baseUrl, authKind: 'api_key', acmeAccountId: account.id });
    const own = await tokenFor(id);
    const first = await as(app, own, { method: 'POST', url: `/admin/tenants/${id}/activate`, payload: { apiKey: api_key } });
    expect(first.statusCode, first.body).toBe(200);
    await clientFor(id).list('user', {});
    const wrong = await as(app, own, { method: 'POST', url: `/admin/tenants/${id}/activate`, payload: { apiKey: 'ak_wrong_key_0000' } });
    expect(wrong.statusCode, wrong.body).toBe(502);
    expect(wrong.json().error).toMatchObject({ code: ERROR_CODES.ACME_AUTH_FAILED, field: 'credentials' });
    expect(wrong.json().error.message).toMatch(new RegExp(`^${ACME_PUBLIC_TEXT.credentials}`));
    expect((await tenants.getWithSecrets(id))!.secrets.apiKey).toBe(api_key);
    // The same through PATCH, and a move to a host where the stored key does not work.
    const patched = await as(app, own, { method: 'PATCH', url: `/admin/tenants/${id}`, payload: { credentials: { apiKey: 'ak_wrong_key_1111' } } });
    expect(patched.statusCode, patched.body).toBe(502);
    hostileMode = 'status401';
    const moved = await as(app, own, { method: 'PATCH', url: `/admin/tenants/${id}`, payload: { acmeBaseUrl: hostile.url } });
    expect(moved.statusCode, moved.body).toBe(502);
    const stored = (await tenants.getWithSecrets(id))!;
    expect([stored.secrets.apiKey, stored.acmeBaseUrl]).toEqual([api_key, env.baseUrl]);
  });
});

describe('5. a change of credentials or base URL is in effect in every running process within 5 s', () => {
  it('admin, consumers and edge all call the new base URL with the new key', async () => {
    const admin = adminProcess({ pool: new pg.Pool({ connectionString: stack.config.DATABASE_URL, max: 2, options: `-c search_path=${stack.config.DATABASE_SCHEMA}` }) });
    const consumersPool = new pg.Pool({ connectionString: stack.config.DATABASE_URL, max: 2, options: `-c search_path=${stack.config.DATABASE_SCHEMA}` });
    closers.push(() => consumersPool.end());
    const consumers = acmeClientsFor({ tenants: tenantsOf(consumersPool, stack.config).tenants, pool: consumersPool, outbound: configured, retry: RETRY, stages: { get: 'enrich' } });
    const edge: TestEdge = await startEdge(stack);
    closers.push(() => edge.app.close());

    const { account, api_key } = env.sandbox.provisionAccount({ name: 'sec-change' });
    const id = account.id;
    const secret = createSecret();
    await tenants.create({ id, name: id, acmeBaseUrl: env.baseUrl, authKind: 'api_key', acmeAccountId: account.id, secrets: { apiKey: api_key, webhookSecrets: [secret] } });
    const c = env.sandbox.store.create('contact', account.id, { first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', phone: null, company: null });
    const edgeFetch = async () => {
      const delivery = sign(webhookEvent(eventId(), 'contact.updated', { id: c.id, object_type: 'contact', version: 1 }, id), [secret]);
      return (await edge.app.inject({ method: 'POST', url: `/webhooks/acme/${id}`, headers: delivery.headers, payload: delivery.body })).statusCode;
    };
    // Every process warm: each has called Acme for this tenant with the first key.
    await admin.clientFor(id).list('user', {});
    await consumers(id).get('contact', c.id);
    expect(await edgeFetch()).toBe(200);
    expect(recorder.requests).toEqual([]);

    const changed = await as(admin.app, await operator(), { method: 'PATCH', url: `/admin/tenants/${id}`, payload: { acmeBaseUrl: recorder.url, credentials: { apiKey: 'ak_second_key_9876' } } });
    expect(changed.statusCode, changed.body).toBe(200);
    const saw = (path: RegExp) => recorder.requests.some((r) => path.test(r.url) && r.authorization === 'Bearer ak_second_key_9876');
    const calls: Array<[string, RegExp, () => Promise<unknown>]> = [
      ['admin', /^\/v1\/users/, () => admin.clientFor(id).list('user', {})],
      ['consumers', new RegExp(`^/v1/contacts/${c.id}$`), () => consumers(id).get('contact', c.id)],
      ['edge', new RegExp(`^/v1/contacts/${c.id}$`), edgeFetch],
    ];
    for (const [name, path, call] of calls) {
      const n = recorder.requests.length;
      await expect.poll(async () => {
        await call().catch(() => undefined);
        return recorder.requests.slice(n).some((r) => path.test(r.url)) && saw(path);
      }, { timeout: 5_000, interval: 250, message: `${name} still calls the old base URL or key` }).toBe(true);
    }
  });
});

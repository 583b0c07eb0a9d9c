/**
 * Test helpers: an in-process Acme sandbox on a random port, and tenants of ours wired to
 * its accounts (API key or OAuth through the real authorize/token endpoints).
 */
import pg from 'pg';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/src/index.js';
import { exchangeAuthorizationCode } from '../../src/acme/oauth.js';
import { createAcmeOutbound, type AcmeOutbound } from '../../src/acme/outbound.js';
import { createSecretBox, type SecretBox } from '../../src/tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../../src/tenants/repository.js';
import type { Config } from '../../src/config/index.js';
import type { TenantSettingsInput } from '../../src/tenants/types.js';

export const REDIRECT_URI = 'http://127.0.0.1:3000/oauth/callback';

/** The development allowance tests need: Acme's sandbox on loopback at a random port. */
export const SANDBOX_ALLOWED = { allowedBaseUrls: ['http://127.0.0.1:*'], allowPrivateNetwork: true } as const;
let shared: AcmeOutbound | undefined;
/** One outbound client allowing the local sandbox (tests only; production allows none by default). */
export function sandboxOutbound(): AcmeOutbound {
  shared ??= createAcmeOutbound({ ...SANDBOX_ALLOWED, allowedBaseUrls: [...SANDBOX_ALLOWED.allowedBaseUrls] });
  return shared;
}

export interface RunningSandbox {
  sandbox: Sandbox;
  baseUrl: string;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const sandbox = createSandbox({ seed: 7, rateLimit: null, ...options });
  const baseUrl = await sandbox.listen({ port: 0 });
  return { sandbox, baseUrl };
}

export function tenantsOf(pool: pg.Pool, config: Config): { box: SecretBox; tenants: TenantRepository } {
  const box = createSecretBox(config.MASTER_KEYS);
  return { box, tenants: createTenantRepository(pool, box) };
}

export interface ApiKeyTenant {
  tenantId: string;
  accountId: string;
  apiKey: string;
}

export async function createApiKeyTenant(
  env: RunningSandbox, tenants: TenantRepository, tenantId: string,
  options: { rateLimit?: { capacity: number; refill_per_second: number }; settings?: TenantSettingsInput } = {},
): Promise<ApiKeyTenant> {
  const { account, api_key } = env.sandbox.provisionAccount({ name: tenantId, ...(options.rateLimit ? { rate_limit: options.rateLimit } : {}) });
  await tenants.create({ id: tenantId, name: tenantId, acmeBaseUrl: env.baseUrl, authKind: 'api_key', acmeAccountId: account.id, secrets: { apiKey: api_key }, settings: options.settings });
  return { tenantId, accountId: account.id, apiKey: api_key };
}

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
}

/** Our integration's OAuth client at Acme (one for all tenants; the sandbox binds it to a home account). */
export function registerOAuthApp(env: RunningSandbox, redirectUris = [REDIRECT_URI]): OAuthApp {
  const home = env.sandbox.provisionAccount({ name: 'oauth-app-home' });
  const client = env.sandbox.createOAuthClient({ account_id: home.account.id, redirect_uris: redirectUris });
  return { clientId: client.client_id, clientSecret: client.client_secret };
}

/** Follow /oauth/authorize (the sandbox approves at once) and return the code it redirects with. */
export async function authorizeCode(env: RunningSandbox, app: OAuthApp, accountId: string, state = 'st'): Promise<string> {
  const url = new URL('/oauth/authorize', env.baseUrl);
  url.search = new URLSearchParams({ client_id: app.clientId, redirect_uri: REDIRECT_URI, state, account_id: accountId }).toString();
  const res = await fetch(url, { redirect: 'manual' });
  const location = new URL(res.headers.get('location')!);
  return location.searchParams.get('code')!;
}

export async function createOAuthTenant(env: RunningSandbox, tenants: TenantRepository, app: OAuthApp, tenantId: string): Promise<{ tenantId: string; accountId: string }> {
  const { account } = env.sandbox.provisionAccount({ name: tenantId });
  const code = await authorizeCode(env, app, account.id);
  const grant = await exchangeAuthorizationCode({ baseUrl: env.baseUrl, ...app, code, redirectUri: REDIRECT_URI, outbound: sandboxOutbound() });
  await tenants.create({ id: tenantId, name: tenantId, acmeBaseUrl: env.baseUrl, authKind: 'oauth', acmeAccountId: account.id, secrets: { oauth: grant.tokens } });
  return { tenantId, accountId: account.id };
}

let seq = 0;
/** A user and a few contacts, appointments and activities in an account, through the sandbox store. */
export function seedAccount(sandbox: Sandbox, accountId: string, counts: { contacts?: number; appointments?: number; activities?: number } = {}) {
  const n = ++seq;
  const user = sandbox.store.createUser(accountId, { name: `Rep ${n}`, email: `rep${n}@example.com`, time_zone: 'Europe/Berlin' });
  const contacts = Array.from({ length: counts.contacts ?? 3 }, (_, i) =>
    sandbox.store.create('contact', accountId, { first_name: `First${i}`, last_name: `Last${n}`, email: `c${n}-${i}@example.com`, phone: null, company: null }),
  );
  const appointments = Array.from({ length: counts.appointments ?? 2 }, (_, i) =>
    sandbox.store.create('appointment', accountId, {
      owner_user_id: user.id, contact_id: contacts[i % contacts.length]!.id, title: `Meeting ${i}`,
      starts_at: '2026-12-01T09:00:00.000Z', ends_at: '2026-12-01T10:00:00.000Z', time_zone: 'Europe/Berlin', location: null,
    }),
  );
  const activities = Array.from({ length: counts.activities ?? 2 }, (_, i) =>
    sandbox.store.create('activity', accountId, {
      type: i % 2 === 0 ? 'email' : 'call', direction: 'outbound', user_id: user.id, contact_id: contacts[i % contacts.length]!.id,
      subject: `Touch ${i}`, occurred_at: '2026-11-20T10:00:00.000Z', duration_seconds: null,
    }),
  );
  return { user, contacts, appointments, activities };
}

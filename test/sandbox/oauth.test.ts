import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../sandbox/src/index.js';
import { createHarness, type Harness } from './support/harness.js';

const REDIRECT = 'http://127.0.0.1:3000/oauth/callback';
let h: Harness;
afterEach(async () => h?.sb.close());

async function authorize(h: Harness, clientId: string, extra: Record<string, string> = {}): Promise<URL> {
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 'xyz-123', scope: 'crm.read webhooks', ...extra });
  const res = await h.call({ method: 'GET', url: `/oauth/authorize?${q.toString()}` }, null);
  expect(res.statusCode).toBe(302);
  return new URL(String(res.headers.location));
}

async function token(h: Harness, form: Record<string, string>, basic?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await h.call(
    {
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(basic ? { authorization: `Basic ${Buffer.from(basic).toString('base64')}` } : {}) },
      payload: new URLSearchParams(form).toString(),
    },
    null,
  );
  return { status: res.statusCode, body: res.json() };
}

describe('OAuth 2.0 authorization-code flow', () => {
  it('redirects back with a code and the unchanged state, and the code buys scoped tokens for the client account', async () => {
    h = await createHarness();
    const client = h.sb.createOAuthClient({ account_id: h.accountId, redirect_uris: [REDIRECT] });
    const back = await authorize(h, client.client_id);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get('state')).toBe('xyz-123');
    const code = back.searchParams.get('code') as string;
    expect(code).toBeTruthy();

    const t = await token(h, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, `${client.client_id}:${client.client_secret}`);
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'crm.read webhooks', account_id: h.accountId });

    const users = await h.call({ method: 'GET', url: '/v1/users' }, String(t.body.access_token));
    expect(users.statusCode).toBe(200);
    // crm.write was not granted.
    const write = await h.call({ method: 'POST', url: '/v1/contacts', payload: { first_name: 'A', last_name: 'B' } }, String(t.body.access_token));
    expect(write.statusCode).toBe(403);
    expect(write.json().error.code).toBe('insufficient_scope');

    const replay = await token(h, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.client_id, client_secret: client.client_secret });
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('passes state through on denial and refuses unregistered redirect URIs without redirecting', async () => {
    h = await createHarness();
    const client = h.sb.createOAuthClient({ account_id: h.accountId, redirect_uris: [REDIRECT] });
    const denied = await authorize(h, client.client_id, { decision: 'deny' });
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe('xyz-123');
    const q = new URLSearchParams({ client_id: client.client_id, redirect_uri: 'https://evil.example/cb', state: 's' });
    const res = await h.call({ method: 'GET', url: `/oauth/authorize?${q.toString()}` }, null);
    expect(res.statusCode).toBe(400);
    expect(res.headers.location).toBeUndefined();
    const unknown = await h.call({ method: 'GET', url: '/oauth/authorize?client_id=cli_nope' }, null);
    expect(unknown.json().error.code).toBe('invalid_client');
  });

  it('expires access tokens after expires_in and rotates refresh tokens, revoking the family on reuse', async () => {
    const clock = createManualClock(Date.parse('2025-03-04T09:00:00Z'));
    h = await createHarness({ clock, auth: { accessTokenTtlSeconds: 5 } });
    const client = h.sb.createOAuthClient({ account_id: h.accountId, redirect_uris: [REDIRECT] });
    const creds = { client_id: client.client_id, client_secret: client.client_secret };
    const code = (await authorize(h, client.client_id)).searchParams.get('code') as string;
    const first = (await token(h, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...creds })).body;
    expect(first.expires_in).toBe(5);
    expect((await h.call({ method: 'GET', url: '/v1/users' }, String(first.access_token))).statusCode).toBe(200);

    clock.advance(5000);
    const expired = await h.call({ method: 'GET', url: '/v1/users' }, String(first.access_token));
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe('token_expired');
    expect(expired.headers['www-authenticate']).toContain('invalid_token');

    const second = await token(h, { grant_type: 'refresh_token', refresh_token: String(first.refresh_token), ...creds });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect((await h.call({ method: 'GET', url: '/v1/users' }, String(second.body.access_token))).statusCode).toBe(200);

    // Reusing the rotated token is refused and kills the newer one too.
    expect((await token(h, { grant_type: 'refresh_token', refresh_token: String(first.refresh_token), ...creds })).body.error).toBe('invalid_grant');
    expect((await token(h, { grant_type: 'refresh_token', refresh_token: String(second.body.refresh_token), ...creds })).body.error).toBe('invalid_grant');
  });

  it('rejects wrong client secrets and unsupported grant types in the RFC 6749 error shape', async () => {
    h = await createHarness();
    const client = h.sb.createOAuthClient({ account_id: h.accountId, redirect_uris: [REDIRECT] });
    const code = (await authorize(h, client.client_id)).searchParams.get('code') as string;
    const wrong = await token(h, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.client_id, client_secret: 'cs_wrong' });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const grant = await token(h, { grant_type: 'password', client_id: client.client_id, client_secret: client.client_secret });
    expect(grant).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
  });
});

describe('API keys and 401s', () => {
  it('accepts an API key as a bearer token or in X-Api-Key, scoped to its account', async () => {
    h = await createHarness();
    const viaHeader = await h.call({ method: 'GET', url: '/v1/contacts', headers: { 'x-api-key': h.apiKey } }, null);
    expect(viaHeader.statusCode).toBe(200);
    expect(viaHeader.json().data.map((c: { id: string }) => c.id)).toEqual([h.contactId]);
    const other = h.sb.provisionAccount();
    expect((await h.call({ method: 'GET', url: '/v1/contacts' }, other.api_key)).json().data).toEqual([]);
  });

  it('answers 401 with a JSON error body for missing and unknown credentials', async () => {
    h = await createHarness();
    const missing = await h.call({ method: 'GET', url: '/v1/appointments' }, null);
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe('unauthorized');
    const bogus = await h.call({ method: 'GET', url: '/v1/appointments' }, 'ak_bogus');
    expect(bogus.statusCode).toBe(401);
    expect(bogus.json().error.code).toBe('invalid_token');
  });
});

import { validate, compileErrors } from '@readme/openapi-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { appointmentInput, contract, coveredOperations, createHarness, type Harness } from './support/harness.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let h: Harness;
let rx: Receiver;
afterEach(async () => {
  await h?.sb.close();
  await rx?.close();
});

describe('OpenAPI contract', () => {
  it('parses and validates as an OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(contract.doc) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(contract.doc.openapi).toBe('3.1.0');
    expect(Object.keys(contract.doc.webhooks as object)).toContain('appointment.updated');
  });

  it('catches responses that break the documented schemas', () => {
    const res = (body: unknown, status = 200) => contract.checkResponse({ method: 'GET', url: '/v1/contacts/con_1', status, body: JSON.stringify(body) });
    expect(res({ id: 'con_1' }).issues.length).toBeGreaterThan(0);
    expect(res({ error: { code: 'not_found', message: 'x' } }, 404).issues).toEqual([]);
    expect(res({ error: 'not_found' }, 404).issues.length).toBeGreaterThan(0);
    expect(res({}, 418).issues[0]?.message).toMatch(/not documented/);
  });

  it('answers every documented operation in the documented shape', async () => {
    h = await createHarness({ rateLimit: { capacity: 1000, refillPerSecond: 100 } });
    rx = await startReceiver();
    const { call, accountId, userId, contactId } = h;
    const REDIRECT = 'http://127.0.0.1:3000/cb';

    // OAuth
    const client = (await call({ method: 'POST', url: '/_sandbox/oauth-clients', payload: { account_id: accountId, redirect_uris: [REDIRECT] } })).json();
    const auth = await call({ method: 'GET', url: `/oauth/authorize?client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&state=s1` }, null);
    const code = new URL(String(auth.headers.location)).searchParams.get('code');
    const tokens = await call({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: client.client_id, client_secret: client.client_secret } }, null);
    expect(tokens.statusCode).toBe(200);
    await call({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: 'rt_nope', client_id: client.client_id, client_secret: client.client_secret } }, null);

    // Resources, reads and writes, success and error answers
    await call({ method: 'GET', url: '/v1/users?limit=1' });
    await call({ method: 'GET', url: `/v1/users/${userId}` });
    await call({ method: 'GET', url: '/v1/users/usr_missing' });
    const contact = (await call({ method: 'POST', url: '/v1/contacts', payload: { first_name: 'Dana', last_name: 'Doe', phone: '+1 555 0000' } })).json();
    await call({ method: 'GET', url: '/v1/contacts?limit=1' });
    await call({ method: 'PATCH', url: `/v1/contacts/${contact.id}`, payload: { email: 'dana@example.com' } });
    await call({ method: 'GET', url: `/v1/contacts/${contact.id}` });
    await call({ method: 'DELETE', url: `/v1/contacts/${contact.id}` });
    const apt = (await call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h) })).json();
    await call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h, { owner_user_id: 'usr_nope' }) });
    await call({ method: 'GET', url: '/v1/appointments' });
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, payload: { status: 'cancelled' } });
    await call({ method: 'GET', url: `/v1/appointments/${apt.id}` });
    // Optimistic concurrency, idempotency keys, field errors, scopes (issue 15)
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, headers: { 'if-match': '"1"' }, payload: { title: 'stale' } });
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, headers: { 'idempotency-key': 'tour-1' }, payload: { location: 'Room 1' } });
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, headers: { 'idempotency-key': 'tour-1' }, payload: { location: 'Room 1' } });
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, headers: { 'idempotency-key': 'tour-1' }, payload: { location: 'Room 2' } });
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, payload: { time_zone: 'Mars/Olympus', ends_at: '2000-01-01T00:00:00Z' } });
    const readOnly = (await call({ method: 'POST', url: `/_sandbox/accounts/${accountId}/api-keys`, payload: { scopes: ['crm.read'] } })).json();
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, payload: { title: 'no scope' } }, readOnly.api_key);
    await call({ method: 'DELETE', url: `/v1/appointments/${apt.id}`, headers: { 'if-match': '"1"' } });
    await call({ method: 'GET', url: `/_sandbox/writes?account_id=${accountId}` });
    await call({ method: 'DELETE', url: `/v1/appointments/${apt.id}` });
    await call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, payload: { title: 'too late' } });
    const act = (await call({ method: 'POST', url: '/v1/activities', payload: { type: 'call', direction: 'outbound', user_id: userId, contact_id: contactId, subject: 'Hi', occurred_at: '2025-03-04T10:00:00Z', duration_seconds: 120 } })).json();
    await call({ method: 'GET', url: '/v1/activities?updated_since=2000-01-01T00:00:00Z' });
    await call({ method: 'PATCH', url: `/v1/activities/${act.id}`, payload: { type: 'email', duration_seconds: null } });
    await call({ method: 'GET', url: `/v1/activities/${act.id}` });
    await call({ method: 'DELETE', url: `/v1/activities/${act.id}` });
    await call({ method: 'GET', url: '/v1/activities' }, null);

    // Webhook subscriptions
    const sub = (await call({ method: 'POST', url: '/v1/webhook-subscriptions', payload: { url: rx.url, event_types: ['contact.*'] } })).json();
    await call({ method: 'GET', url: '/v1/webhook-subscriptions' });
    await call({ method: 'GET', url: `/v1/webhook-subscriptions/${sub.id}` });
    await call({ method: 'POST', url: `/v1/webhook-subscriptions/${sub.id}/rotate-secret` });
    await call({ method: 'PATCH', url: `/v1/contacts/${contactId}`, payload: { company: 'Renamed' } });
    await rx.waitFor(1);

    // Sandbox control plane
    await call({ method: 'GET', url: '/_sandbox/deliveries' });
    await call({ method: 'GET', url: '/_sandbox/deliveries/sent' });
    await call({ method: 'POST', url: '/_sandbox/deliveries/flush' });
    await call({ method: 'POST', url: '/_sandbox/deliveries/wait', payload: { timeout_ms: 1000 } });
    await call({ method: 'GET', url: '/_sandbox/events' });
    await call({ method: 'DELETE', url: `/v1/webhook-subscriptions/${sub.id}` });
    await call({ method: 'GET', url: '/_sandbox/faults' });
    await call({ method: 'PATCH', url: '/_sandbox/faults', payload: { bad_data: 1, bad_data_kinds: ['missing_starts_at'] } });
    await call({ method: 'PUT', url: '/_sandbox/faults', payload: { seed: 9 } });
    await call({ method: 'GET', url: '/_sandbox/bad-data' });
    const provisioned = (await call({ method: 'POST', url: '/_sandbox/accounts', payload: { name: 'Tour', webhook_payload: 'thin' } })).json();
    await call({ method: 'GET', url: '/_sandbox/accounts' });
    await call({ method: 'PATCH', url: `/_sandbox/accounts/${provisioned.account.id}`, payload: { rate_limit: { capacity: 5, refill_per_second: 1 } } });
    await call({ method: 'POST', url: `/_sandbox/accounts/${provisioned.account.id}/api-keys`, payload: { api_key: 'ak_chosen' } });
    await call({ method: 'POST', url: `/_sandbox/accounts/${provisioned.account.id}/expire-tokens` });
    await call({
      method: 'POST',
      url: '/_sandbox/seed',
      payload: { account_id: provisioned.account.id, users: [{ id: 'usr_tour', name: 'T', email: 't@x.test', time_zone: 'Asia/Kolkata' }], contacts: [{ id: 'con_tour', first_name: 'A', last_name: 'B' }], appointments: [{ owner_user_id: 'usr_tour', contact_id: 'con_tour', title: 'x', starts_at: '2025-01-01T00:00:00Z', ends_at: '2025-01-01T01:00:00Z', time_zone: 'UTC' }], activities: [] },
    });
    await call({ method: 'GET', url: '/_sandbox/truth' });
    await call({ method: 'GET', url: '/_sandbox/generator' });
    await call({ method: 'POST', url: '/_sandbox/generator', payload: { seed: 1, accounts: 1, users: 1, contacts: 2, events: 1000, rate: 1 } });
    await call({ method: 'GET', url: '/_sandbox/truth' });
    await call({ method: 'POST', url: '/_sandbox/generator/stop' });
    await call({ method: 'GET', url: '/_sandbox/truth' });
    await call({ method: 'POST', url: '/_sandbox/reset', payload: { seed: 3 } });
    expect((await call({ method: 'GET', url: '/v1/users' })).statusCode).toBe(401);

    const missing = contract.operations().filter((op) => !coveredOperations.has(op));
    expect(missing).toEqual([]);
  });
});

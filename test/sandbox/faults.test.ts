import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createManualClock, createSandbox, type FaultConfig } from '../../sandbox/src/index.js';
import { appointmentInput, contract, createHarness, type Harness } from './support/harness.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let h: Harness;
let rx: Receiver;
afterEach(async () => {
  await h?.sb.close();
  await rx?.close();
});

async function subscribed(faults: Partial<FaultConfig>, opts: Parameters<typeof createHarness>[0] = {}): Promise<{ secret: string }> {
  h = await createHarness({ ...opts, faults });
  rx = await startReceiver();
  const { secret } = h.sb.subscriptions.create(h.accountId, rx.url, ['contact.*']);
  return { secret };
}

/** Makes n contact updates, each a distinct event with a distinct version. */
function churn(n: number): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    h.sb.store.update('contact', h.accountId, h.contactId, { phone: `+1 555 ${i}` });
    ids.push(h.sb.deliveries.events().at(-1)!.event.id);
  }
  return ids;
}

const receivedIds = (): string[] => rx.requests.map((r) => String(r.headers['webhook-id']));

describe('delivery faults', () => {
  it('duplicates deliveries with the same webhook-id when duplicate is on', async () => {
    await subscribed({ duplicate: 1 });
    const events = churn(3);
    await rx.waitFor(6);
    expect(await h.sb.deliveries.waitForIdle()).toBe(true);
    expect([...receivedIds()].sort()).toEqual([...events, ...events].sort());
    expect(h.sb.deliveries.deliveries().filter((d) => d.duplicate)).toHaveLength(3);
  });

  it('holds back and shuffles deliveries within the reorder window', async () => {
    await subscribed({ reorder: 0.5, reorderWindow: 4, reorderMaxHoldMs: 60_000, seed: 7 });
    const events = churn(30);
    h.sb.deliveries.flush(); // releases what is still held at the end
    await rx.waitFor(30);
    const got = receivedIds();
    expect([...got].sort()).toEqual([...events].sort());
    expect(got).not.toEqual(events);
    const held = h.sb.deliveries.deliveries().filter((d) => d.reorder_by > 0);
    expect(held.length).toBeGreaterThan(5);
    // A held delivery is overtaken by at most `reorderWindow` + (other held ones) later events, never more than the window allows overall.
    for (const d of held) expect(got.indexOf(d.event_id) - events.indexOf(d.event_id)).toBeLessThanOrEqual(4 + held.length);
    // Versions arrive out of order, which is what receivers must cope with.
    const versions = rx.requests.map((r) => JSON.parse(r.body).data.object.version as number);
    expect(versions.some((v, i) => i > 0 && v < versions[i - 1]!)).toBe(true);
  });

  it('delays late deliveries by lateMs', async () => {
    const clock = createManualClock();
    await subscribed({ late: 1, lateMs: 30_000 }, { clock });
    churn(2);
    // The delivery log says what was sent: no attempt yet, both waiting for their time.
    const log = () => h.sb.deliveries.deliveries().map((d) => ({ status: d.status, attempts: d.attempts.length }));
    expect(log()).toEqual([{ status: 'delayed', attempts: 0 }, { status: 'delayed', attempts: 0 }]);
    clock.advance(29_999);
    expect(log()).toEqual([{ status: 'delayed', attempts: 0 }, { status: 'delayed', attempts: 0 }]);
    clock.advance(1);
    await rx.waitFor(2);
  });

  it('loses webhooks that only polling can find', async () => {
    await subscribed({ lose: 1 });
    churn(3);
    // Lost at the source: the log holds them with no attempt, and nothing is left to send.
    expect(h.sb.deliveries.deliveries().map((d) => ({ status: d.status, attempts: d.attempts.length }))).toEqual(Array.from({ length: 3 }, () => ({ status: 'lost', attempts: 0 })));
    expect(h.sb.deliveries.pendingCount()).toBe(0);
    const polled = await h.call({ method: 'GET', url: '/v1/contacts' });
    expect(polled.json().data[0]).toMatchObject({ id: h.contactId, phone: '+1 555 2', version: 4 });
  });

  it('loses roughly the configured fraction, decided by the seed', async () => {
    await subscribed({ lose: 0.3, seed: 99 });
    churn(200);
    const lost = h.sb.deliveries.deliveries().filter((d) => d.status === 'lost').length;
    expect(lost).toBeGreaterThan(35);
    expect(lost).toBeLessThan(85);
    await rx.waitFor(200 - lost);
  });
});

describe('API faults', () => {
  it('answers 5xx with an error body at the outage rate but leaves /_sandbox alone', async () => {
    h = await createHarness({ faults: { outage5xx: 1 } });
    const res = await h.call({ method: 'GET', url: '/v1/contacts' });
    expect([500, 502, 503]).toContain(res.statusCode);
    expect(res.json().error.code).toBe('service_unavailable');
    expect((await h.sb.app.inject({ method: 'GET', url: '/_sandbox/faults' })).statusCode).toBe(200);
    h.sb.faults.set({ outage5xx: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await h.call({ method: 'GET', url: '/v1/users' })).statusCode);
    expect(statuses.filter((s) => s >= 500).length).toBeGreaterThan(8);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(8);
  });

  it('destroys connections without an answer when refuse is on', async () => {
    h = await createHarness({ faults: { refuse: 1 } });
    await expect(h.sb.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: `Bearer ${h.apiKey}` } })).rejects.toThrow(/destroyed/);
    const url = await h.sb.listen({ port: 0 });
    await expect(fetch(`${url}/v1/users`, { headers: { authorization: `Bearer ${h.apiKey}` } })).rejects.toThrow();
    h.sb.faults.set({ refuse: 0 });
    expect((await fetch(`${url}/v1/users`, { headers: { authorization: `Bearer ${h.apiKey}` } })).status).toBe(200);
  });

  it('slows answers by slowMs', async () => {
    h = await createHarness({ faults: { slowMs: 150 } });
    const t0 = Date.now();
    expect((await h.call({ method: 'GET', url: '/v1/users' })).statusCode).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    h.sb.faults.set({ slowMs: 0 });
    const t1 = Date.now();
    await h.call({ method: 'GET', url: '/v1/users' });
    expect(Date.now() - t1).toBeLessThan(100);
  });

  it('switches faults over /_sandbox/faults: PATCH merges, PUT replaces', async () => {
    h = await createHarness();
    const patched = await h.sb.app.inject({ method: 'PATCH', url: '/_sandbox/faults', payload: { outage_5xx: 1, late_ms: 10 } });
    expect(patched.json()).toMatchObject({ outage_5xx: 1, late_ms: 10, duplicate: 0 });
    expect((await h.call({ method: 'GET', url: '/v1/users' })).statusCode).toBeGreaterThanOrEqual(500);
    const replaced = await h.sb.app.inject({ method: 'PUT', url: '/_sandbox/faults', payload: { duplicate: 0.5 } });
    expect(replaced.json()).toMatchObject({ outage_5xx: 0, late_ms: 5000, duplicate: 0.5 });
    expect((await h.call({ method: 'GET', url: '/v1/users' })).statusCode).toBe(200);
    expect((await h.sb.app.inject({ method: 'PATCH', url: '/_sandbox/faults', payload: { lose: 2 } })).statusCode).toBe(400);
  });
});

describe('bad data faults', () => {
  it('creates appointments without starts_at, marked as bad and flagged by the contract', async () => {
    h = await createHarness({ faults: { badData: 1, badDataKinds: ['missing_starts_at'] } });
    const res = await h.sb.app.inject({ method: 'POST', url: '/v1/appointments', headers: { authorization: `Bearer ${h.apiKey}` }, payload: appointmentInput(h) });
    const apt = res.json();
    expect(apt.starts_at).toBeNull();
    expect(contract.checkSchema('Appointment', apt).length).toBeGreaterThan(0);
    const bad = (await h.sb.app.inject({ method: 'GET', url: '/_sandbox/bad-data' })).json().data;
    expect(bad).toEqual([expect.objectContaining({ kind: 'missing_starts_at', id: apt.id, object_type: 'appointment', account_id: h.accountId })]);
    // Contacts are never corrupted.
    expect(h.sb.store.isBad(h.contactId)).toBe(false);
  });

  it('creates activities referencing contacts that do not exist', async () => {
    h = await createHarness({ faults: { badData: 1, badDataKinds: ['unknown_contact'] } });
    const act = h.sb.store.create('activity', h.accountId, { type: 'call', direction: 'outbound', user_id: h.userId, contact_id: h.contactId, subject: 'hi', occurred_at: '2025-03-04T10:00:00.000Z', duration_seconds: 60 });
    expect(act.contact_id).not.toBe(h.contactId);
    expect((await h.call({ method: 'GET', url: `/v1/contacts/${act.contact_id}` })).statusCode).toBe(404);
    expect(h.sb.store.badRecords()).toEqual([expect.objectContaining({ kind: 'unknown_contact', id: act.id })]);
  });

  it('sends correctly signed webhook bodies that are not valid JSON, marked in the delivery log', async () => {
    const { secret } = await subscribed({ badData: 1, badDataKinds: ['malformed_webhook'] });
    const [eventId] = churn(1);
    await rx.waitFor(1);
    const req = rx.requests[0]!;
    expect(() => JSON.parse(req.body)).toThrow();
    const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
    expect(() => new Webhook(secret).verify(req.body, headers, { jsonParse: false })).not.toThrow();
    expect(h.sb.deliveries.deliveries()[0]?.malformed).toBe(true);
    expect(h.sb.store.badRecords()).toEqual([expect.objectContaining({ kind: 'malformed_webhook', id: eventId, object_type: 'webhook' })]);
  });
});

describe('determinism', () => {
  async function scenario(seed: number): Promise<{ decisions: unknown[]; received: string[]; sent: unknown[] }> {
    const clock = createManualClock(Date.parse('2025-03-04T09:00:00Z'));
    const sb = createSandbox({ clock, seed, rateLimit: null, faults: { duplicate: 0.2, reorder: 0.3, reorderWindow: 3, lose: 0.1, late: 0.1, lateMs: 1000, badData: 0.1 } });
    const receiver = await startReceiver();
    try {
      const { account } = sb.provisionAccount();
      const user = sb.store.createUser(account.id, { name: 'U', email: 'u@x.test', time_zone: 'UTC' });
      sb.subscriptions.create(account.id, receiver.url, ['*']);
      const contact = sb.store.create('contact', account.id, { first_name: 'A', last_name: 'B', email: null, phone: null, company: null });
      for (let i = 0; i < 40; i++) {
        if (i % 3 === 0) sb.store.create('appointment', account.id, { owner_user_id: user.id, contact_id: contact.id, title: `T${i}`, starts_at: '2025-03-05T09:00:00.000Z', ends_at: '2025-03-05T10:00:00.000Z', time_zone: 'UTC', location: null });
        else sb.store.update('contact', account.id, contact.id, { phone: String(i) });
      }
      clock.advance(1000); // late ones become due
      sb.deliveries.flush();
      await vi.waitFor(() => expect(sb.deliveries.pendingCount(), 'deliveries to drain').toBe(0), { timeout: 5_000, interval: 5 });
      const decisions = sb.deliveries.deliveries().map((d) => ({ id: d.id, event: d.event_id, status: d.status, dup: d.duplicate, bad: d.malformed, late: d.late_ms, reorder: d.reorder_by, body: d.body }));
      return { decisions, received: receiver.requests.map((r) => `${String(r.headers['webhook-id'])} ${r.body}`), sent: sb.deliveries.sent() };
    } finally {
      await sb.close();
      await receiver.close();
    }
  }

  it('produces the same deliveries, in the same order with the same bodies, for the same seed', async () => {
    const a = await scenario(42);
    const b = await scenario(42);
    const c = await scenario(43);
    expect(b).toEqual(a);
    expect(a.decisions.length).toBeGreaterThan(40);
    expect(c.decisions).not.toEqual(a.decisions);
  });
});

import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createManualClock } from '../../sandbox/src/index.js';
import { appointmentInput, contract, createHarness, type Harness } from './support/harness.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let h: Harness;
let rx: Receiver;
afterEach(async () => {
  await h?.sb.close();
  await rx?.close();
});

async function subscribe(h: Harness, url: string, eventTypes?: string[]): Promise<{ id: string; secret: string }> {
  const res = await h.call({ method: 'POST', url: '/v1/webhook-subscriptions', payload: { url, ...(eventTypes ? { event_types: eventTypes } : {}) } });
  expect(res.statusCode).toBe(201);
  return res.json();
}

const headersOf = (r: Receiver['requests'][number]): Record<string, string> => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

describe('webhook deliveries', () => {
  it('delivers full events signed the Standard Webhooks way, verifiable with Webhook.verify', async () => {
    h = await createHarness();
    rx = await startReceiver();
    const sub = await subscribe(h, rx.url);
    expect(sub.secret).toMatch(/^whsec_/);
    const created = (await h.call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h) })).json();
    await rx.waitFor(1);
    const req = rx.requests[0]!;
    const event = new Webhook(sub.secret).verify(req.body, headersOf(req)) as Record<string, unknown>;
    expect(event).toMatchObject({ type: 'appointment.created', account_id: h.accountId, data: { object: created } });
    expect(req.headers['webhook-id']).toBe(event.id);
    expect(contract.checkSchema('WebhookEvent', event)).toEqual([]);
    expect(() => new Webhook(`whsec_${Buffer.from('not the secret').toString('base64')}`).verify(req.body, headersOf(req))).toThrow();
  });

  it('signs with both the old and the new secret during a rotation grace period, then only the new one', async () => {
    const clock = createManualClock();
    h = await createHarness({ clock });
    rx = await startReceiver();
    const sub = await subscribe(h, rx.url, ['contact.*']);
    const rotated = await h.call({ method: 'POST', url: `/v1/webhook-subscriptions/${sub.id}/rotate-secret`, payload: { grace_period_seconds: 60 } });
    const newSecret = rotated.json().secret as string;
    expect(newSecret).not.toBe(sub.secret);

    h.sb.store.update('contact', h.accountId, h.contactId, { phone: '+1 1' });
    await rx.waitFor(1);
    const during = rx.requests[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(new Webhook(sub.secret).verify(during.body, headersOf(during))).toBeTruthy();
    expect(new Webhook(newSecret).verify(during.body, headersOf(during))).toBeTruthy();

    clock.advance(61_000);
    h.sb.store.update('contact', h.accountId, h.contactId, { phone: '+1 2' });
    await rx.waitFor(2);
    const after = rx.requests[1]!;
    // The manual clock ran ahead; re-sign check needs a timestamp Webhook.verify accepts.
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    const headers = headersOf(after);
    const sig = new Webhook(newSecret).sign(headers['webhook-id']!, new Date(Number(headers['webhook-timestamp']) * 1000), after.body);
    expect(headers['webhook-signature']).toBe(sig);
    expect(new Webhook(sub.secret).sign(headers['webhook-id']!, new Date(Number(headers['webhook-timestamp']) * 1000), after.body)).not.toBe(sig);
  });

  it('retries with exponential backoff capped at the maximum until the receiver answers 2xx', async () => {
    const clock = createManualClock();
    h = await createHarness({ clock, webhooks: { retryBaseMs: 1000, retryMaxMs: 3000, maxAttempts: 10 } });
    rx = await startReceiver((_r, i) => (i < 4 ? 500 : 200));
    await subscribe(h, rx.url);
    h.sb.store.update('contact', h.accountId, h.contactId, { company: 'New Co' });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      await vi.waitFor(() => expect(clock.pendingDelays(), `retry ${attempt} scheduled`).toHaveLength(1), { timeout: 5_000, interval: 5 });
      delays.push(clock.pendingDelays()[0]!);
      clock.advance(delays[delays.length - 1]!);
    }
    await rx.waitFor(5);
    await h.sb.deliveries.waitForIdle(2000);
    expect(delays).toEqual([1000, 2000, 3000, 3000]);
    const [d] = h.sb.deliveries.deliveries();
    expect(d?.status).toBe('succeeded');
    expect(d?.attempts.map((a) => a.status_code)).toEqual([500, 500, 500, 500, 200]);
    // Every retry carries the same webhook-id and body.
    expect(new Set(rx.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(rx.requests.map((r) => r.body)).size).toBe(1);
  });

  it('gives up after maxAttempts and also retries when the receiver is unreachable', async () => {
    h = await createHarness({ webhooks: { retryBaseMs: 5, retryMaxMs: 10, maxAttempts: 3 } });
    await subscribe(h, 'http://127.0.0.1:9/unreachable');
    h.sb.store.update('contact', h.accountId, h.contactId, { company: 'X' });
    expect(await h.sb.deliveries.waitForIdle(5000)).toBe(true);
    const [d] = h.sb.deliveries.deliveries();
    expect(d?.status).toBe('failed');
    expect(d?.attempts).toHaveLength(3);
    expect(d?.attempts.every((a) => a.status_code === null && a.error)).toBe(true);
  });

  it('sends only id, object_type and version to accounts in thin payload mode', async () => {
    h = await createHarness();
    h.sb.store.updateAccount(h.accountId, { webhook_payload: 'thin' });
    rx = await startReceiver();
    await subscribe(h, rx.url);
    const updated = h.sb.store.update('contact', h.accountId, h.contactId, { first_name: 'Carla' });
    await rx.waitFor(1);
    const body = JSON.parse(rx.requests[0]!.body);
    expect(body.data).toEqual({ id: h.contactId, object_type: 'contact', version: updated?.version });
    expect(contract.checkSchema('WebhookEvent', body)).toEqual([]);
  });

  it('filters by event type and stops delivering once the subscription is deleted', async () => {
    h = await createHarness();
    rx = await startReceiver();
    const sub = await subscribe(h, rx.url, ['appointment.created']);
    h.sb.store.update('contact', h.accountId, h.contactId, { phone: '1' });
    const apt = h.sb.store.create('appointment', h.accountId, appointmentInput(h, { time_zone: 'UTC', location: null }) as never);
    await rx.waitFor(1);
    expect(JSON.parse(rx.requests[0]!.body).data.object.id).toBe(apt.id);
    const listed = await h.call({ method: 'GET', url: '/v1/webhook-subscriptions' });
    expect(listed.json().data).toEqual([expect.objectContaining({ id: sub.id, event_types: ['appointment.created'] })]);
    expect(listed.json().data[0].secret).toBeUndefined();
    expect((await h.call({ method: 'GET', url: `/v1/webhook-subscriptions/${sub.id}` })).statusCode).toBe(200);
    expect((await h.call({ method: 'DELETE', url: `/v1/webhook-subscriptions/${sub.id}` })).statusCode).toBe(204);
    h.sb.store.create('appointment', h.accountId, appointmentInput(h, { time_zone: 'UTC', location: null }) as never);
    // The delivery log holds the one delivery made before the delete: the new appointment made none.
    expect(h.sb.deliveries.deliveries().map((d) => d.object_id)).toEqual([apt.id]);
    expect(rx.requests).toHaveLength(1);
    expect((await h.call({ method: 'GET', url: `/v1/webhook-subscriptions/${sub.id}` })).statusCode).toBe(404);
  });
});

/**
 * Issue 12 ("a correctly signed but malformed webhook is answered 400, retried by Acme 8
 * times and never visible in the DLQ") and issue 11 ("a thin payload naming a 200 KB
 * object ID is answered 502, so Acme retries it"): a signed delivery that no retry can
 * make processable is kept in the DLQ — raw bytes, HTTP headers, tenant, reason — and
 * answered 200, the only answer Acme's contract does not retry; Acme's retries of it
 * are one DLQ record. Deliveries are generated (fast-check) across the malformed space.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readDlq } from '../../../src/dlq/index.js';
import { HTTP_HEADER_PREFIX } from '../../../src/dlq/dead-letters.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';
import { extremeInstant, hugeString, malformedBody, malformedInstant, withControlChar } from '../../../drills/support/hostile.js';
import { addTenant, contactObject, eventId, metricValue, secretsOf, sign, sizes, startEdge, tenantId, webhookEvent, type TestEdge } from './harness.js';

let stack: IsolatedStack;
let edge: TestEdge;
const tenant = tenantId();

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'), { WEBHOOK_MAX_BODY_BYTES: String(1024 * 1024), PRODUCER_LINGER_MS: '5' });
  edge = await startEdge(stack);
  await addTenant(edge, { id: tenant });
});
afterAll(async () => {
  await edge?.app.close();
  await stack?.close();
});

const post = (delivery: { headers: Record<string, string>; body: string }) => edge.app.inject({ method: 'POST', url: `/webhooks/acme/${tenant}`, headers: delivery.headers, payload: delivery.body });

const appointment = (o: Record<string, unknown>) => ({
  id: 'apt_ok', owner_user_id: 'usr_1', contact_id: 'con_1', title: 'Demo', starts_at: '2026-03-07T10:00:00Z', ends_at: '2026-03-07T11:00:00Z', time_zone: 'Europe/Berlin',
  location: null, status: 'scheduled', version: 1, created_at: '2026-03-06T09:00:00Z', updated_at: '2026-03-06T09:10:00Z', deleted_at: null, ...o,
});

/** Signed deliveries that can never be processed: not JSON, not an envelope, or an object breaking the contract. */
const unprocessable = fc.oneof(
  malformedBody.map((b) => ({ name: 'not a webhook envelope', body: b.toString('utf8') })),
  fc.constant({ name: 'thin payload naming a 200 KB object ID', body: JSON.stringify(webhookEvent('evt_PLACEHOLDER', 'appointment.updated', { id: `apt_${'a'.repeat(200_000)}`, object_type: 'appointment', version: 1 })) }),
  fc.tuple(fc.oneof(extremeInstant, malformedInstant), fc.nat()).map(([starts, n]) => ({ name: `starts_at ${starts}`, body: JSON.stringify(webhookEvent('evt_PLACEHOLDER', 'appointment.updated', { object: appointment({ id: `apt_d${n}`, starts_at: starts }) })) })),
  fc.tuple(withControlChar, fc.nat()).map(([company, n]) => ({ name: 'control character in company', body: JSON.stringify(webhookEvent('evt_PLACEHOLDER', 'contact.updated', { object: contactObject(`con_c${n}`, 1, { company }) })) })),
  fc.tuple(hugeString, fc.nat()).map(([title, n]) => ({ name: `${title.length}-character title`, body: JSON.stringify(webhookEvent('evt_PLACEHOLDER', 'appointment.updated', { object: appointment({ id: `apt_t${n}`, title }) })) })),
);

describe('signed webhooks that can never be processed', () => {
  it('bug: answered 4xx/5xx (retried by Acme) and never in the DLQ — now kept in the DLQ with bytes, headers, tenant and reason, answered 200, one DLQ record however often Acme retries', async () => {
    const [secret] = await secretsOf(edge, tenant);
    const samples = fc.sample(unprocessable, { numRuns: 12, seed: 1212 });
    samples.push(samples.find((s) => s.name.startsWith('thin payload')) ?? fc.sample(unprocessable.filter((s) => s.name.startsWith('thin payload')), 1)[0]!);
    const before = await sizes(stack);
    const sent: { id: string; body: string }[] = [];
    for (const sample of samples) {
      const id = eventId();
      const body = sample.body.replaceAll('evt_PLACEHOLDER', id);
      const delivery = sign(body, [secret!], { id });
      const first = await post(delivery);
      expect(first.statusCode, sample.name).toBe(200);
      expect(first.json(), sample.name).toMatchObject({ received: true, deadLettered: true, reason: expect.any(String) });
      // Acme's retry of the same delivery (same webhook-id) adds nothing to the DLQ.
      const retry = await post(sign(body, [secret!], { id }));
      expect(retry.statusCode, sample.name).toBe(200);
      sent.push({ id, body });
    }
    const dlq = (await readDlq(stack.kafka, stack.topics.dlq, { tenantId: tenant })).filter((r) => sent.some((s) => s.id === r.headers[`${HTTP_HEADER_PREFIX}webhook-id`]));
    const unique = new Set(sent.map((s) => s.id));
    expect(dlq).toHaveLength(unique.size);
    for (const { id, body } of sent) {
      const record = dlq.find((r) => r.headers[`${HTTP_HEADER_PREFIX}webhook-id`] === id)!;
      expect(record.value?.toString('utf8')).toBe(body);
      expect(record.error).toMatchObject({ tenantId: tenant, stage: 'webhook', code: 'VALIDATION_FAILED', message: expect.stringMatching(/\S/) });
      expect(record.headers[`${HTTP_HEADER_PREFIX}webhook-timestamp`]).toMatch(/^\d+$/);
    }
    // Counted once per new DLQ record; a retry is a redelivery (duplicate), whether its envelope parsed or it was found in the DLQ index.
    const counted = async (outcome: string) => metricValue(edge.metrics, 'acme_sync_webhooks_total', { outcome });
    expect(await counted('dead_lettered')).toBe(dlq.length);
    expect((await counted('dead_lettered')) + (await counted('duplicate'))).toBe(sent.length * 2);
    // Nothing reached the input topics.
    expect(await sizes(stack)).toEqual(before);
  });

  it('bug (found by the fuzz drill): a signed body whose JSON error quotes a NUL was answered 500, as PostgreSQL refused the reason — kept in the DLQ like any other', async () => {
    const [secret] = await secretsOf(edge, tenant);
    const id = eventId();
    const res = await post(sign('{"id":\u0000}', [secret!], { id }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ deadLettered: true, repeat: false });
  });

  it('names the field and the rule: a 200 KB thin-payload ID is refused by the ID rule, never fetched from Acme', async () => {
    const [secret] = await secretsOf(edge, tenant);
    const id = eventId();
    const res = await post(sign(webhookEvent(id, 'appointment.updated', { id: `apt_${'a'.repeat(200_000)}`, object_type: 'appointment', version: 1 }), [secret!], { id }));
    expect(res.statusCode).toBe(200);
    expect(res.json().reason).toMatch(/^data\.id: 200004 characters, an ID has at most 64/);
  });
});

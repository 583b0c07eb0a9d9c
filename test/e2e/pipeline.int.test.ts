/**
 * Issue 4 + 5 end to end: the sandbox's generator lives realistic days for several
 * accounts; Acme delivers signed webhooks with duplicates, reordering, lost and
 * malformed deliveries and bad data; the edge publishes, polling and reconciliation
 * fill what webhooks missed, and the consumers write PostgreSQL. The final calendar
 * and touch-point counts must equal the generator's truth, computed independently of
 * our code, and the bad records must be in the DLQ and nowhere else.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Truth } from '../../sandbox/src/index.js';
import { readDlq } from '../../src/dlq/index.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { startPipeline, type Pipeline } from './harness.js';

let stack: IsolatedStack;
let pipeline: Pipeline;
let truth: Truth;
let dlqAfterFirstPass: number;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  pipeline = await startPipeline(stack, {
    seed: 2026,
    rateLimit: null,
    webhooks: { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: 30 },
    faults: { duplicate: 0.1, reorder: 0.1, reorderMaxHoldMs: 200, lose: 0.03, badData: 0.04, badDataKinds: ['missing_starts_at', 'unknown_contact', 'malformed_webhook'] },
  });
  const run = pipeline.sandbox.startGenerator({
    accounts: 3, users: 3, contacts: 8, events: 900, days: 4,
    webhookUrl: `${pipeline.edgeUrl}/webhooks/acme/{account_id}`, autoStart: false,
  });
  // Titles as Acme writes them, so they compare with the truth one to one.
  await pipeline.connect(run, { titleTemplate: '{title}' });
  // Activation: the initial backfill finds the users and contacts that existed before.
  for (const a of run.accounts) await pipeline.poller.pollTenant(a.account_id);
  run.start();
  truth = await run.done;
  pipeline.sandbox.deliveries.flush();
  await pipeline.sandbox.deliveries.waitForIdle(60_000);
  // Reconciliation finds what webhooks lost (and what a malformed delivery hid).
  for (const a of run.accounts) {
    const pass = await pipeline.poller.reconcileTenant(a.account_id);
    expect(pass.error).toBeUndefined();
  }
  await pipeline.drained(90_000);
  dlqAfterFirstPass = (await readDlq(stack.kafka, stack.topics.dlq)).length;
  // Another reconciliation re-reads every bad record (issue 12: the DLQ grew on each pass).
  for (const a of run.accounts) expect((await pipeline.poller.reconcileTenant(a.account_id)).error).toBeUndefined();
  await pipeline.drained(90_000);
}, 240_000);

afterAll(async () => {
  await pipeline?.close();
  await stack?.close();
});

/** Records Acme holds that can never be processed: no start, or a contact Acme does not know (appointments and activities). */
const badIds = () => new Set(truth.bad_records.filter((b) => b.kind === 'missing_starts_at' || b.kind === 'unknown_contact').map((b) => b.id));

describe('the pipeline against the generator\'s truth', () => {
  it('faced the faults it was meant to: duplicates, reordering, lost and malformed deliveries, bad data', () => {
    const deliveries = pipeline.sandbox.deliveries.deliveries();
    expect(deliveries.some((d) => d.duplicate)).toBe(true);
    expect(deliveries.some((d) => d.reorder_by)).toBe(true);
    expect(deliveries.some((d) => d.status === 'lost')).toBe(true);
    expect(badIds().size).toBeGreaterThan(0);
    for (const [kind, type] of [['unknown_contact', 'appointment'], ['unknown_contact', 'activity'], ['missing_starts_at', 'appointment']])
      expect(truth.bad_records.some((b) => b.kind === kind && b.object_type === type), `${kind} ${type}`).toBe(true);
    expect(truth.calendar_events.length).toBeGreaterThan(30);
    expect(truth.touch_points.length).toBeGreaterThan(30);
  });

  it('holds exactly one calendar event per appointment, equal to the truth (time, zone, status, owner, customer, version)', async () => {
    const { rows } = await stack.pool.query(
      `SELECT tenant_id, acme_appointment_id, acme_version, user_id, title, starts_at, ends_at, time_zone, status, customer_name, customer_email, customer_phone
         FROM calendar_events`,
    );
    const ours = new Map(rows.map((r) => [`${r.tenant_id}/${r.acme_appointment_id}`, r]));
    expect(ours.size).toBe(truth.calendar_events.length);
    for (const t of truth.calendar_events) {
      const row = ours.get(`${t.account_id}/${t.appointment_id}`);
      expect(row, t.appointment_id).toBeDefined();
      expect({
        version: Number(row.acme_version), user: row.user_id, title: row.title, starts: row.starts_at.toISOString(), ends: row.ends_at.toISOString(),
        zone: row.time_zone, status: row.status, name: row.customer_name, email: row.customer_email, phone: row.customer_phone,
      }, t.appointment_id).toEqual({
        version: t.version, user: t.owner_email, title: t.title, starts: new Date(t.starts_at).toISOString(), ends: new Date(t.ends_at).toISOString(),
        zone: t.time_zone, status: t.status === 'active' ? 'ACTIVE' : 'CANCELLED', name: t.contact.name, email: t.contact.email, phone: t.contact.phone,
      });
    }
  });

  it('carries a correlation ID from the webhook (its webhook-id) or the poll run to every calendar row', async () => {
    const { rows } = await stack.pool.query<{ correlation_id: string | null }>('SELECT correlation_id FROM calendar_events');
    const webhookIds = new Set(pipeline.sandbox.deliveries.deliveries().map((d) => d.event_id));
    const bySource = { webhook: 0, poll: 0 };
    for (const { correlation_id: id } of rows) {
      expect(id).not.toBeNull();
      if (webhookIds.has(id!)) bySource.webhook++;
      else {
        expect(id).toMatch(/^(poll|reconcile|backfill):/);
        bySource.poll++;
      }
    }
    expect(bySource.webhook).toBeGreaterThan(0);
  });

  it('counts every email and call once per user, local day and channel, equal to the truth', async () => {
    const { rows } = await stack.pool.query<{ tenant_id: string; acme_user_id: string; day: string; channel: string; count: number }>(
      `SELECT tenant_id, acme_user_id, to_char(day, 'YYYY-MM-DD') AS day, channel, count FROM touchpoint_counts WHERE count > 0`,
    );
    const ours = Object.fromEntries(rows.map((r) => [`${r.tenant_id}/${r.acme_user_id}/${r.day}/${r.channel}`, r.count]));
    const expected = Object.fromEntries(truth.touch_points.map((t) => [`${t.account_id}/${t.user_id}/${t.day}/${t.channel.toUpperCase()}`, t.count]));
    expect(ours).toEqual(expected);
  });

  it('sent every appointment without a start and every record naming a contact Acme does not know to the DLQ once, and nothing else — however often reconciliation re-read them', async () => {
    const all = await readDlq(stack.kafka, stack.topics.dlq);
    // Malformed deliveries (signed, truncated body) are kept by the edge, once per delivery that reached it.
    const edge = all.filter((r) => r.error.stage === 'webhook');
    const reached = new Set(pipeline.sandbox.deliveries.deliveries().filter((d) => d.malformed && d.status !== 'lost').map((d) => d.event_id));
    expect(new Set(edge.map((r) => r.headers['acme-sync.http.webhook-id']))).toEqual(reached);
    expect(edge).toHaveLength(reached.size);
    const dlq = all.filter((r) => r.error.stage !== 'webhook');
    const dlqIds = dlq.map((r) => r.error.acmeId);
    expect(new Set(dlqIds)).toEqual(badIds());
    expect(dlqIds).toHaveLength(badIds().size);
    expect(all).toHaveLength(dlqAfterFirstPass);
    const kindOf = new Map(truth.bad_records.map((b) => [b.id, b.kind]));
    for (const r of dlq) {
      if (kindOf.get(r.error.acmeId) === 'unknown_contact') expect(r.error).toMatchObject({ stage: 'enrich', code: 'UNKNOWN_CONTACT' });
      else expect(r.error).toMatchObject({ stage: 'validate', code: 'VALIDATION_FAILED' });
    }
  });

  it('balances the ledger of every consumer group and tenant: received = written + DLQ + skipped', async () => {
    const { rows } = await stack.pool.query('SELECT group_id, tenant_id, received, written, dlq, skipped FROM consumer_ledger');
    expect(rows.length).toBeGreaterThanOrEqual(truth.accounts.length * 2);
    for (const r of rows) expect(Number(r.received), `${r.group_id}/${r.tenant_id}`).toBe(Number(r.written) + Number(r.dlq) + Number(r.skipped));
  });
});

/**
 * Issue 12 through the real runner and flows on the real stack: one bad record never
 * stops the pipeline. Bad records are generated (fast-check, fixed seeds) and mixed with
 * good ones of two tenants in the same batches; each test names the bug it pins and
 * failed on the code before the fix.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { DLQ_HEADERS, readLedger, type Flow } from '../../src/consumers/runtime/index.js';
import { createTouchpointFlow } from '../../src/consumers/touchpoints/index.js';
import { recordKey } from '../../src/kafka/index.js';
import type { AcmeActivityEvent } from '../../src/transforms/types.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { controlChar } from '../../drills/support/hostile.js';
import { appointment, contact, readTopic, useHarness } from './support/harness.js';

const h = useHarness();

const ledgerOf = async (groupId: string, tenantId: string) => (await readLedger(h.stack.pool, groupId)).find((r) => r.tenantId === tenantId);
const dlqOf = async (groupId: string) => (await readTopic(h.stack, h.stack.topics.dlq)).filter((r) => r.headers[DLQ_HEADERS.consumerGroup] === groupId);
const balanced = (l: { received: number; written: number; dlq: number; skipped: number } | undefined) => expect(l && l.received).toBe(l && l.written + l.dlq + l.skipped);

/** Epoch ms JS and Avro hold but no calendar should: beyond year 2200 or before 1900, up to ±8.64e15 (year ±275760). */
const extremeMs = fc.oneof(fc.integer({ min: Date.UTC(2201, 0, 2), max: 8.64e15 }), fc.integer({ min: -8.64e15, max: Date.UTC(1899, 0, 1) }), fc.constantFrom(8.64e15, -8.64e15));

describe('poison records and the calendar flow', () => {
  it('bug: a contact whose company holds a NUL, and appointments with extreme timestamps, stopped the calendar flow in a restart loop — only they go to the DLQ, every good record of the batch is written', async () => {
    const [A, B] = ['poison-a', 'poison-b'];
    await createApiKeyTenant(h.acme, h.tenants, A);
    await createApiKeyTenant(h.acme, h.tenants, B);
    const companies = fc.sample(fc.tuple(fc.string({ maxLength: 8 }), controlChar).map(([s, c]) => `Acme${c}${s}`), { numRuns: 4, seed: 12 });
    const instants = fc.sample(extremeMs, { numRuns: 6, seed: 12 });
    const bad = [
      ...companies.map((company, i) => ({ kind: 'contacts' as const, value: contact({ tenant_id: A, acme_id: `con_nul${i}`, company }) })),
      ...instants.map((ms, i) => ({ kind: 'appointments' as const, value: appointment({ tenant_id: A, acme_id: `apt_far${i}`, starts_at: ms, ends_at: null }) })),
    ];
    const good = [A, B].flatMap((t) => Array.from({ length: 10 }, (_, i) => ({ kind: 'appointments' as const, value: appointment({ tenant_id: t, acme_id: `apt_ok${i}`, title: `ok ${i}` }) })));
    // Bad records in the middle of good ones, in the same batches.
    const events = good.flatMap((g, i) => (bad[i] ? [g, bad[i]!] : [g]));
    await h.produce(events);
    const runner = h.runner({ groupId: `${h.stack.id}-poison` });
    await runner.start();
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, A))?.received).toBe(10 + bad.length), { timeout: 45_000, interval: 200 });
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, B))?.received).toBe(10), { timeout: 45_000, interval: 200 });
    expect(runner.isReady()).toBe(true);

    const rows = (await h.calendarRows()).filter((r) => r.tenant_id === A || r.tenant_id === B);
    expect(rows.map((r) => `${r.tenant_id}/${r.acme_appointment_id}`).sort()).toEqual(good.map((g) => `${g.value.tenant_id}/${g.value.acme_id}`).sort());
    const dlq = await vi.waitFor(async () => {
      const records = await dlqOf(runner.groupId);
      expect(records).toHaveLength(bad.length);
      return records;
    }, { timeout: 45_000, interval: 200 });
    expect(dlq.map((r) => r.headers[DLQ_HEADERS.acmeId]).sort()).toEqual(bad.map((b) => b.value.acme_id).sort());
    for (const r of dlq) expect(r.headers[DLQ_HEADERS.message]).toMatch(/^(contact\.company: control character|appointment\.starts_at: .* outside)/);
    balanced(await ledgerOf(runner.groupId, A));
    expect(await ledgerOf(runner.groupId, A)).toMatchObject({ written: 10, dlq: bad.length });
    await runner.stop();
  });

  it('bug: the DLQ grew on every reconciliation pass (4 bad records became 40 copies) — the same record, version and reason is one DLQ entry; a later version or another reason is new', async () => {
    const T = 'poison-repoll';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const noStart = (v: number) => ({ kind: 'appointments' as const, value: appointment({ tenant_id: T, acme_id: 'apt_nostart', acme_version: v, starts_at: null }) });
    const backwards = { kind: 'appointments' as const, value: appointment({ tenant_id: T, acme_id: 'apt_nostart', acme_version: 2, ends_at: Date.parse('2020-01-01T00:00:00Z') }) };
    const runner = h.runner({ groupId: `${h.stack.id}-repoll` });
    await runner.start();
    // Five passes re-read version 1 (poll, reconcile, backfill ...); then version 2 with another fault, read twice.
    for (let pass = 0; pass < 5; pass++) {
      await h.produce([noStart(1)]);
      await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, T))?.received).toBe(pass + 1), { timeout: 45_000, interval: 200 });
    }
    await h.produce([backwards, backwards]);
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, T))?.received).toBe(7), { timeout: 45_000, interval: 200 });
    const dlq = await dlqOf(runner.groupId);
    expect(dlq.map((r) => r.headers[DLQ_HEADERS.message])).toEqual(['appointment.starts_at: an appointment needs a start', 'appointment.ends_at: ends before it starts']);
    expect(await ledgerOf(runner.groupId, T)).toMatchObject({ received: 7, dlq: 2, skipped: 5, written: 0 });
    const { rows } = await h.stack.pool.query('SELECT version, code FROM dlq_entries WHERE tenant_id = $1 ORDER BY version', [T]);
    expect(rows).toEqual([{ version: '1', code: 'VALIDATION_FAILED' }, { version: '2', code: 'VALIDATION_FAILED' }]);
    await runner.stop();
  });

  it('bug: an appointment naming a contact Acme does not know was written as an event without a customer — it goes to the DLQ as UNKNOWN_CONTACT; a contact we have not seen yet is fetched from Acme', async () => {
    const t = await createApiKeyTenant(h.acme, h.tenants, 'poison-unknown');
    const T = 'poison-unknown';
    const known = h.acme.sandbox.store.create('contact', t.accountId, { first_name: 'Known', last_name: 'Later', email: null, phone: null, company: null });
    await h.produce([
      { kind: 'appointments', value: appointment({ tenant_id: T, acme_id: 'apt_unknown', contact_id: 'con_unknown_1' }) },
      { kind: 'appointments', value: appointment({ tenant_id: T, acme_id: 'apt_known', contact_id: known.id }) },
    ]);
    const runner = h.runner({ groupId: `${h.stack.id}-unknown` });
    await runner.start();
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, T))?.received).toBe(2), { timeout: 45_000, interval: 200 });
    const rows = (await h.calendarRows()).filter((r) => r.tenant_id === T);
    expect(rows.map((r) => [r.acme_appointment_id, r.customer_name])).toEqual([['apt_known', 'Known Later']]);
    const dlq = await dlqOf(runner.groupId);
    expect(dlq.map((r) => [r.headers[DLQ_HEADERS.acmeId], r.headers[DLQ_HEADERS.code], r.headers[DLQ_HEADERS.stage]])).toEqual([['apt_unknown', 'UNKNOWN_CONTACT', 'enrich']]);
    await runner.stop();
  });
});

describe('poison records and the touch-point flow', () => {
  it('bug: activities naming a contact Acme does not know were counted (9 keys over by one) — they go to the DLQ as UNKNOWN_CONTACT and count nowhere', async () => {
    const t = await createApiKeyTenant(h.acme, h.tenants, 'poison-tp');
    const T = 'poison-tp';
    const user = h.acme.sandbox.store.createUser(t.accountId, { name: 'Rep', email: 'rep@example.com', time_zone: 'UTC' });
    const known = h.acme.sandbox.store.create('contact', t.accountId, { first_name: 'A', last_name: 'B', email: null, phone: null, company: null });
    const activity = (id: string, contactId: string, duration: number | null = 60): AcmeActivityEvent => ({
      event_id: id, tenant_id: T, acme_id: id, acme_version: 1, acme_updated_at: Date.parse('2026-03-10T09:00:00Z'), operation: 'UPSERT', source: 'WEBHOOK', received_at: Date.now(), correlation_id: null,
      activity_type: 'call', direction: 'outbound', user_id: user.id, contact_id: contactId, subject: 'Call', occurred_at: Date.parse('2026-03-10T09:00:00Z'), duration_seconds: duration,
    });
    const events = [activity('act_known', known.id), activity('act_ghost1', 'con_unknown_1'), activity('act_ghost2', 'con_unknown_2'), activity('act_negative', known.id, -30)];
    for (const e of events) await h.producer.send({ topic: h.stack.topics.activities, acks: -1, messages: [{ key: recordKey(T, e.acme_id), value: await h.stack.codec.encode('activities', e) }] });
    const runner = h.runner({ groupId: `${h.stack.id}-tp`, flow: createTouchpointFlow({ pool: h.stack.pool }) as Flow });
    await runner.start();
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, T))?.received).toBe(events.length), { timeout: 45_000, interval: 200 });
    const { rows } = await h.stack.pool.query('SELECT count FROM touchpoint_counts WHERE tenant_id = $1', [T]);
    expect(rows).toEqual([{ count: 1 }]);
    const dlq = await dlqOf(runner.groupId);
    expect(Object.fromEntries(dlq.map((r) => [r.headers[DLQ_HEADERS.acmeId], r.headers[DLQ_HEADERS.code]]))).toEqual({ act_ghost1: 'UNKNOWN_CONTACT', act_ghost2: 'UNKNOWN_CONTACT', act_negative: 'VALIDATION_FAILED' });
    balanced(await ledgerOf(runner.groupId, T));
    await runner.stop();
  });
});

describe('per-record isolation when PostgreSQL refuses a value', () => {
  it('bug: a batch PostgreSQL refused for one record (SQLSTATE 22/23) stopped the runner — the batch is bisected: exactly the refused records go to the DLQ with the database reason, the others are written once with the offsets', async () => {
    await h.stack.pool.query(`CREATE TABLE IF NOT EXISTS poison_probe (tenant_id text, acme_id text, title text CHECK (title <> 'refused by a constraint'), PRIMARY KEY (tenant_id, acme_id))`);
    const T = 'poison-db';
    await createApiKeyTenant(h.acme, h.tenants, T);
    // A flow that writes what it is given without the contract: PostgreSQL is the last judge here.
    type ProbeRow = { tenantId: string; acmeId: string; title: string | null };
    const probe: Flow<{ rows: ProbeRow[]; others: Map<string, number> }> = {
      name: 'probe', inputs: ['appointments'],
      prepare: async (records) => {
        const rows: ProbeRow[] = [];
        const others = new Map<string, number>();
        for (const r of records) {
          const v = r.value as { tenant_id: string; acme_id: string; title: string | null };
          if (v.tenant_id === T) rows.push({ tenantId: v.tenant_id, acmeId: v.acme_id, title: v.title });
          else others.set(v.tenant_id, (others.get(v.tenant_id) ?? 0) + 1); // earlier tests' records: not this flow's business
        }
        return { ready: { rows, others }, dlq: [] };
      },
      apply: async (db, { rows, others }) => {
        const { rowCount } = await db.query('INSERT INTO poison_probe SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING', [rows.map((r) => r.tenantId), rows.map((r) => r.acmeId), rows.map((r) => r.title)]);
        return { written: new Map([[T, rowCount ?? 0]]), skipped: new Map([...others, [T, rows.length - (rowCount ?? 0)]]), outputs: [] };
      },
    };
    const positions = fc.sample(fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { minLength: 3, maxLength: 6 }), { numRuns: 1, seed: 2212 })[0]!;
    const refusals = ['NUL \u0000 byte', 'refused by a constraint'];
    const events = Array.from({ length: 40 }, (_, i) => appointment({ tenant_id: T, acme_id: `apt_p${i}`, title: positions.includes(i) ? refusals[i % 2]! : `fine ${i}` }));
    // One partition's worth: same key prefix does not pin a partition, so send all with one key for one batch.
    await h.producer.send({ topic: h.stack.topics.appointments, acks: -1, messages: await Promise.all(events.map(async (e) => ({ key: `${T}:batch`, value: await h.stack.codec.encode('appointments', e) }))) });
    const runner = h.runner({ groupId: `${h.stack.id}-probe`, flow: probe as Flow });
    await runner.start();
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, T))?.received).toBe(40), { timeout: 45_000, interval: 200 });
    expect(runner.isReady()).toBe(true);
    const { rows } = await h.stack.pool.query<{ acme_id: string }>('SELECT acme_id FROM poison_probe WHERE tenant_id = $1', [T]);
    expect(rows.map((r) => r.acme_id).sort()).toEqual(events.filter((_, i) => !positions.includes(i)).map((e) => e.acme_id).sort());
    const dlq = await dlqOf(runner.groupId);
    expect(dlq.map((r) => r.headers[DLQ_HEADERS.acmeId]).sort()).toEqual(positions.map((i) => `apt_p${i}`).sort());
    for (const r of dlq) {
      expect(r.headers[DLQ_HEADERS.stage]).toBe('sink');
      expect(r.headers[DLQ_HEADERS.code]).toMatch(/^DATABASE_(DATA_REJECTED|CONSTRAINT_VIOLATED)$/);
      expect(r.headers[DLQ_HEADERS.message]).toMatch(/PostgreSQL refused the record \((22021|23514)\)/);
    }
    expect(await ledgerOf(runner.groupId, T)).toMatchObject({ received: 40, written: 40 - positions.length, dlq: positions.length, skipped: 0 });
    await runner.stop();
  });
});

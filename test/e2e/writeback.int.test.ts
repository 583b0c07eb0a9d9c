/**
 * Issue 15, done-when: two-way calendar sync end to end on the real stack. The edge,
 * the poller, the calendar flow and the write-back flow run against the Acme sandbox,
 * whose webhooks are duplicated and reordered. A seeded generator interleaves calendar
 * edits (often based on a version Acme has moved past: simultaneous edits; bursts on the
 * same base; re-published duplicates, delivered late) with Acme-side edits of the same
 * appointments, for three tenants, one per conflict policy. At the end:
 *  - Acme and our calendar agree on every appointment;
 *  - every conflict Acme reported (412/409 on a change's own key) has a conflict record,
 *    and the winners follow each tenant's policy;
 *  - no change was applied twice (the sandbox's per-key counts: at most one write per key,
 *    and Acme's versions produced by us = applied changes + calendar-won overrides);
 *  - no echo was written back: the calendar re-publishing what it received writes nothing.
 * Change the SEED to explore; a failure prints it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Appointment } from '../../sandbox/src/index.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import { createTenantDirectory, readLedger, type ConsumerRunner } from '../../src/consumers/runtime/index.js';

import { createMetricsRegistry } from '../../src/metrics/index.js';
import type { ConflictPolicy } from '../../src/tenants/types.js';
import type { CalendarChange } from '../../src/transforms/writeback.js';
import { createInputProducer, createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { sandboxOutbound } from '../acme/sandbox-tenants.js';
import { readTopic, silent } from '../consumers/support/harness.js';
import { change, produceChanges, writebackRunner } from '../consumers/writeback/support.js';
import { startPipeline, type Pipeline } from './harness.js';

const SEED = Number(process.env.WRITEBACK_SEED ?? 1515);
const STEPS = 90;
const POLICIES: ConflictPolicy[] = ['acme-wins', 'calendar-wins', 'newest-wins'];

/** mulberry32: small, seeded, good enough to pick steps. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!, chance: (p: number) => next() < p };
}

let stack: IsolatedStack;
let pipeline: Pipeline;
let writeback: ConsumerRunner;
const tenants: { id: string; accountId: string; policy: ConflictPolicy; apts: string[] }[] = [];
const produced = new Map<string, number>();

async function calendarRow(tenantId: string, aptId: string) {
  const { rows } = await stack.pool.query('SELECT * FROM calendar_events WHERE tenant_id = $1 AND acme_appointment_id = $2', [tenantId, aptId]);
  return rows[0] as { acme_version: string; acme_title: string; location: string | null; starts_at: Date; ends_at: Date | null; status: string; time_zone: string } | undefined;
}

async function publish(changes: CalendarChange[]): Promise<void> {
  for (const c of changes) produced.set(c.tenant_id, (produced.get(c.tenant_id) ?? 0) + 1);
  await produceChanges(stack, pipelineProducer, changes);
}
let pipelineProducer: Parameters<typeof produceChanges>[1];

async function writebackDrained(): Promise<void> {
  await expect
    .poll(async () => {
      const ledger = await readLedger(stack.pool, writeback.groupId);
      return tenants.every((t) => (ledger.find((r) => r.tenantId === t.id)?.received ?? 0) === (produced.get(t.id) ?? 0));
    }, { timeout: 120_000, interval: 250 })
    .toBe(true);
}

/** Everything delivered, reconciled and consumed, twice over (write-backs cause webhooks). */
async function settle(): Promise<void> {
  for (let round = 0; round < 2; round++) {
    await writebackDrained();
    pipeline.sandbox.deliveries.flush();
    await pipeline.sandbox.deliveries.waitForIdle(60_000);
    for (const t of tenants) expect((await pipeline.poller.reconcileTenant(t.id)).error).toBeUndefined();
    await pipeline.drained(120_000);
  }
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  pipeline = await startPipeline(stack, {
    seed: SEED, rateLimit: null,
    webhooks: { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: 30 },
    faults: { duplicate: 0.2, reorder: 0.2, reorderMaxHoldMs: 200 },
  });
  // Acme's API: some writes are applied but their answers lost, some requests fail with 5xx.
  pipeline.sandbox.faults.set({ lostAnswer: 0.15, outage5xx: 0.05 });
  pipelineProducer = createInputProducer(stack);
  await pipelineProducer.connect();

  for (const policy of POLICIES) {
    const id = `wb-e2e-${policy}`;
    const { account, api_key } = pipeline.sandbox.provisionAccount({ name: id });
    const { secret } = pipeline.sandbox.subscriptions.create(account.id, `${pipeline.edgeUrl}/webhooks/acme/${id}`, ['*']);
    await pipeline.tenants.create({
      id, name: id, acmeBaseUrl: pipeline.sandboxUrl, authKind: 'api_key', acmeAccountId: account.id, secrets: { apiKey: api_key, webhookSecrets: [secret] },
      settings: { titleTemplate: '{title}', writeback: { enabled: true, conflictPolicy: policy } },
    });
    const user = pipeline.sandbox.store.createUser(account.id, { name: 'Rep', email: `rep@${id}.test`, time_zone: 'Europe/Berlin' });
    const contact = pipeline.sandbox.store.create('contact', account.id, { first_name: 'Cy', last_name: 'Customer', email: null, phone: null, company: null });
    const apts = [0, 1, 2, 3].map((i) =>
      pipeline.sandbox.store.create('appointment', account.id, {
        owner_user_id: user.id, contact_id: contact.id, title: `Meeting ${i}`, starts_at: '2026-12-01T09:00:00.000Z', ends_at: '2026-12-01T10:00:00.000Z', time_zone: 'Europe/Berlin', location: null,
      }).id,
    );
    tenants.push({ id, accountId: account.id, policy, apts });
  }
  const clients = acmeClientsFor({ tenants: pipeline.tenants, outbound: sandboxOutbound() });
  const context = { now: Date.now, tenants: createTenantDirectory({ repository: pipeline.tenants, acme: clients, ttlMs: 500 }), acme: clients, logger: silent };
  writeback = writebackRunner({ stack, tenants: pipeline.tenants, context, metrics: createMetricsRegistry({ service: 'e2e-wb', collectDefault: false }), groupId: `${stack.id}.writeback` });
  await writeback.start();
  await vi.waitFor(async () => expect((await Promise.all(tenants.flatMap((t) => t.apts.map((a) => calendarRow(t.id, a))))).every(Boolean)).toBe(true), { timeout: 60_000, interval: 250 });
}, 180_000);

afterAll(async () => {
  await writeback?.stop();
  await pipelineProducer?.disconnect();
  await pipeline?.close();
  await stack?.close();
});

describe(`two-way calendar sync, generated (seed ${SEED})`, () => {
  const lastCalendarEdit = new Map<string, CalendarChange>();
  const echoes: CalendarChange[] = [];

  it('ends with Acme and our calendar agreeing per policy, every conflict recorded, nothing applied twice, no echo written back', async () => {
    const r = rng(SEED);
    const calendarVersion = new Map<string, number>();
    const sent: CalendarChange[] = [];
    const acmeSideVersions: { apt: string; version: number }[] = [];

    const edit = async (t: (typeof tenants)[number], apt: string, at = Date.now()): Promise<CalendarChange> => {
      const row = (await calendarRow(t.id, apt))!;
      const v = (calendarVersion.get(apt) ?? 0) + 1;
      calendarVersion.set(apt, v);
      const fields = r.pick([['TITLE'], ['LOCATION'], ['STARTS_AT', 'ENDS_AT'], ['TITLE', 'LOCATION'], ['STATUS']] as const);
      const day = 2 + Math.floor(r.next() * 20);
      const start = Date.parse(`2026-12-${String(day).padStart(2, '0')}T08:00:00Z`);
      return change({
        tenant_id: t.id, acme_id: apt, calendar_version: v, base_acme_version: Number(row.acme_version), changed_at: at, changed_fields: [...fields],
        title: `Cal ${t.policy} ${apt.slice(-4)} v${v}`, location: r.chance(0.3) ? null : `Room ${v}`, starts_at: start, ends_at: start + 3_600_000, status: r.chance(0.5) ? 'CANCELLED' : 'ACTIVE',
      });
    };

    for (let step = 0; step < STEPS; step++) {
      const t = r.pick(tenants);
      const apt = r.pick(t.apts);
      const roll = r.next();
      if (roll < 0.45) {
        const c = await edit(t, apt);
        sent.push(c);
        lastCalendarEdit.set(apt, c);
        await publish([c]);
      } else if (roll < 0.6) {
        // Two edits on the same base before the calendar hears back (simultaneous edits in one calendar).
        const a = await edit(t, apt);
        const b = await edit(t, apt);
        sent.push(a, b);
        lastCalendarEdit.set(apt, b);
        await publish([a, b]);
      } else if (roll < 0.85) {
        // An Acme-side edit by a sales rep.
        const updated = pipeline.sandbox.store.update('appointment', t.accountId, apt, r.chance(0.5) ? { title: `Acme ${apt.slice(-4)} s${step}` } : { location: `Acme room ${step}` } as Partial<Appointment>)!;
        acmeSideVersions.push({ apt, version: updated.version });
      } else if (sent.length > 0) {
        // A re-published earlier change, delivered late (after newer ones).
        await publish([r.pick(sent)]);
      }
      if (r.chance(0.15)) await writebackDrained();
    }
    // The calendar has the last word on every appointment of the calendar-wins tenant.
    const cw = tenants.find((t) => t.policy === 'calendar-wins')!;
    for (const apt of cw.apts) {
      const c = await edit(cw, apt);
      sent.push(c);
      lastCalendarEdit.set(apt, c);
      await publish([c]);
    }
    await settle();

    // 1. Acme and our calendar agree on every appointment.
    for (const t of tenants) {
      for (const apt of t.apts) {
        const acme = pipeline.sandbox.store.get('appointment', t.accountId, apt)!;
        const row = (await calendarRow(t.id, apt))!;
        expect({ v: Number(row.acme_version), title: row.acme_title, location: row.location, starts: row.starts_at.toISOString(), status: row.status }, `${t.id} ${apt}`).toEqual({
          v: acme.version, title: acme.title, location: acme.location, starts: acme.starts_at, status: acme.status === 'cancelled' ? 'CANCELLED' : 'ACTIVE',
        });
      }
    }

    // 2. Per policy, and every conflict Acme reported has its record.
    const writes = pipeline.sandbox.context.idempotency.stats();
    const conflicts = (await stack.pool.query('SELECT * FROM writeback_conflicts')).rows as { tenant_id: string; acme_id: string; base_acme_version: string; acme_version: string; change_id: string; policy: string; winner: string; calendar_changed_at: Date; acme_updated_at: Date | null }[];
    const conflictOf = new Set(conflicts.map((c) => c.change_id));
    const isBaseKey = (key: string) => key.startsWith('acme-sync.wb.') && !key.includes('.over.');
    const refusedKeys = writes.filter((w) => isBaseKey(w.idempotency_key) && [409, 412].includes(w.last_status));
    expect(refusedKeys.length, 'the generator produced conflicts').toBeGreaterThan(0);
    for (const w of refusedKeys) expect(conflictOf.has(w.idempotency_key.slice('acme-sync.wb.'.length)), w.idempotency_key).toBe(true);
    const outcomes = (await stack.pool.query('SELECT tenant_id, change_id, outcome FROM writeback_changes')).rows as { tenant_id: string; change_id: string; outcome: string }[];
    expect(outcomes.filter((o) => o.outcome === 'conflict').length).toBe(conflicts.length);
    // A conflict is genuine: a sales rep's edit lies between the version the calendar saw and Acme's (never only our own writes).
    for (const c of conflicts) {
      const genuine = acmeSideVersions.some((e) => e.apt === c.acme_id && e.version > Number(c.base_acme_version) && e.version <= Number(c.acme_version));
      expect(genuine, `conflict on ${c.acme_id} base ${c.base_acme_version} acme ${c.acme_version}`).toBe(true);
    }
    for (const c of conflicts) {
      if (c.policy === 'acme-wins') expect(c.winner).toBe('acme');
      if (c.policy === 'calendar-wins') expect(c.winner).toBe('calendar');
      if (c.policy === 'newest-wins') expect(c.winner).toBe(c.acme_updated_at !== null && c.acme_updated_at.getTime() >= c.calendar_changed_at.getTime() ? 'acme' : 'calendar');
    }
    for (const apt of cw.apts) {
      const last = lastCalendarEdit.get(apt)!;
      const acme = pipeline.sandbox.store.get('appointment', cw.accountId, apt)!;
      if (last.changed_fields.includes('TITLE')) expect(acme.title).toBe(last.title);
      if (last.changed_fields.includes('STATUS')) expect(acme.status).toBe(last.status === 'CANCELLED' ? 'cancelled' : 'scheduled');
    }

    const applied = writes.reduce((n, w) => n + w.applied, 0);
    if (process.env.WRITEBACK_DEBUG) console.log({ sent: sent.length, applied, outcomes: Object.fromEntries([...new Set(outcomes.map((o) => o.outcome))].map((k) => [k, outcomes.filter((o) => o.outcome === k).length])), conflicts: conflicts.map((c) => `${c.policy}:${c.winner}`).join(' ') });
    // 3. Nothing applied twice: one write per key at most, and every Acme version we caused is one handled change.
    for (const w of writes) expect(w.applied, w.idempotency_key).toBeLessThanOrEqual(1);
    const calendarWon = conflicts.filter((c) => c.winner === 'calendar').length;
    expect(applied).toBe(outcomes.filter((o) => o.outcome === 'applied').length + calendarWon);
    expect(new Set(outcomes.map((o) => o.change_id)).size).toBe(new Set(sent.map((c) => c.change_id)).size);

    // 3b. The echo of our own write says so on calendar.events.v1: the change it came from, at the version that change produced.
    const versionOf = new Map((await stack.pool.query('SELECT change_id, acme_version FROM writeback_changes WHERE acme_version IS NOT NULL')).rows.map((x) => [x.change_id as string, Number(x.acme_version)]));
    const tagged: { change: string; version: number }[] = [];
    for (const rec of await readTopic(stack, stack.topics.calendar)) {
      if (rec.value === null) continue;
      const value = (await stack.codec.decode(rec.value)).value as { writeback_change_id: string | null; acme_version: number };
      if (value.writeback_change_id !== null) tagged.push({ change: value.writeback_change_id, version: Number(value.acme_version) });
    }
    expect(tagged.length).toBeGreaterThan(0);
    for (const t of tagged) expect(versionOf.get(t.change), t.change).toBe(t.version);

    // 3c. The write-back ledger balances per tenant: every change received was written, skipped or dead-lettered.
    for (const row of await readLedger(stack.pool, writeback.groupId)) expect(row.received, row.tenantId).toBe(row.written + row.skipped + row.dlq);

    // 4. The calendar naively re-publishes what it received: nothing is written back.
    const versions = new Map<string, number>();
    for (const t of tenants) {
      for (const apt of t.apts) {
        const row = (await calendarRow(t.id, apt))!;
        versions.set(apt, Number(row.acme_version));
        const v = (calendarVersion.get(apt) ?? 0) + 1;
        calendarVersion.set(apt, v);
        echoes.push(change({
          tenant_id: t.id, acme_id: apt, calendar_version: v, base_acme_version: Number(row.acme_version), changed_fields: ['TITLE', 'LOCATION', 'STARTS_AT', 'STATUS'],
          title: row.acme_title, location: row.location, starts_at: row.starts_at.getTime(), status: row.status as 'ACTIVE' | 'CANCELLED', change_id: randomUUID(),
        }));
      }
    }
    await publish(echoes);
    await settle();
    const echoOutcomes = (await stack.pool.query('SELECT outcome FROM writeback_changes WHERE change_id = ANY($1)', [echoes.map((e) => e.change_id)])).rows.map((x) => x.outcome);
    expect(echoOutcomes).toEqual(echoes.map(() => 'echo_suppressed'));
    const after = pipeline.sandbox.context.idempotency.stats();
    expect(after.filter((w) => echoes.some((e) => w.idempotency_key.includes(e.change_id)))).toEqual([]);
    for (const t of tenants) for (const apt of t.apts) expect(pipeline.sandbox.store.get('appointment', t.accountId, apt)!.version).toBe(versions.get(apt));
  }, 600_000);
});

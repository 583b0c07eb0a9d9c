/**
 * Issue 15: the write-back flow through the real runner, Kafka, registry and PostgreSQL,
 * against the Acme sandbox: applied writes with If-Match and idempotency keys, duplicates
 * and consecutive edits on the same base (our own chain, no false conflict), each
 * conflict policy, 422/403 to the DLQ with Acme's field errors, and an Acme outage that
 * pauses the partition and applies every change once afterwards.
 */
import { describe, expect, it, vi } from 'vitest';
import { DLQ_HEADERS, readLedger } from '../../../src/consumers/runtime/index.js';
import { readDlq, replayDlq } from '../../../src/dlq/index.js';
import { createMetricsRegistry } from '../../../src/metrics/index.js';
import type { ConflictPolicy } from '../../../src/tenants/types.js';
import { createApiKeyTenant, seedAccount } from '../../acme/sandbox-tenants.js';
import { useHarness } from '../support/harness.js';
import { change, changeRows, conflictRows, produceChanges, writebackRunner } from './support.js';

const h = useHarness();
const writes = (accountId: string) => h.acme.sandbox.context.idempotency.stats(accountId);
const T = Date.parse('2026-12-01T09:00:00Z');

async function tenantWith(name: string, policy: ConflictPolicy = 'acme-wins', extra: Record<string, unknown> = {}) {
  const t = await createApiKeyTenant(h.acme, h.tenants, name, { settings: { writeback: { enabled: true, conflictPolicy: policy, ...extra } } });
  const seeded = seedAccount(h.acme.sandbox, t.accountId, { appointments: 2 });
  return { ...t, apts: seeded.appointments.map((a) => a.id) };
}

function startRunner(groupId = `${h.stack.id}-wb-${Math.random().toString(36).slice(2, 8)}`) {
  const metrics = createMetricsRegistry({ service: 'test', collectDefault: false });
  const runner = writebackRunner({ stack: h.stack, tenants: h.tenants, context: h.context(), metrics, groupId });
  return { runner, metrics };
}

const received = async (groupId: string, tenantId: string) => (await readLedger(h.stack.pool, groupId)).find((r) => r.tenantId === tenantId)?.received ?? 0;

describe('the write-back flow', () => {
  it('applies changes once with If-Match and idempotency keys; duplicates and our own chain of versions are no conflict', async () => {
    const t = await tenantWith('wb-apply');
    const [a] = t.apts as [string];
    const c1 = change({ tenant_id: t.tenantId, acme_id: a, calendar_version: 1, base_acme_version: 1, changed_fields: ['TITLE'], title: 'Moved to Friday' });
    // The calendar has not seen the echo of c1 yet: c2 is based on version 1 as well.
    const c2 = change({ tenant_id: t.tenantId, acme_id: a, calendar_version: 2, base_acme_version: 1, changed_fields: ['STARTS_AT', 'ENDS_AT', 'LOCATION'], starts_at: T + 86_400_000, ends_at: T + 90_000_000, location: 'Room 7' });
    const c3 = change({ tenant_id: t.tenantId, acme_id: a, calendar_version: 3, base_acme_version: 2, changed_fields: ['STATUS'], status: 'CANCELLED' });
    const disabledField = change({ tenant_id: t.tenantId, acme_id: a, calendar_version: 4, base_acme_version: 4, changed_fields: ['UNKNOWN'] });
    await produceChanges(h.stack, h.producer, [c1, c2, c1, c3, c2, disabledField]);
    const { runner } = startRunner();
    await runner.start();
    await vi.waitFor(async () => expect(await received(runner.groupId, t.tenantId)).toBe(6), { timeout: 45_000, interval: 200 });
    await runner.stop();

    const apt = h.acme.sandbox.store.get('appointment', t.accountId, a)!;
    expect(apt).toMatchObject({ version: 4, title: 'Moved to Friday', location: 'Room 7', status: 'cancelled', starts_at: new Date(T + 86_400_000).toISOString() });
    expect((await changeRows(h.stack.pool, t.tenantId)).map((r) => [r.change_id, r.outcome, r.acme_version])).toEqual([
      [c1.change_id, 'applied', '2'], [c2.change_id, 'applied', '3'], [c3.change_id, 'applied', '4'], [disabledField.change_id, 'not_synced', null],
    ]);
    expect(await conflictRows(h.stack.pool, t.tenantId)).toEqual([]);
    for (const w of writes(t.accountId)) expect(w.applied).toBe(1);
    expect(writes(t.accountId)).toHaveLength(3);
  });

  it.each([
    ['acme-wins', 'acme', 'Acme title'],
    ['calendar-wins', 'calendar', 'Calendar title'],
    ['newest-wins', 'calendar', 'Calendar title'],
  ] as const)('resolves a conflict under %s: %s wins, recorded once', async (policy, winner, finalTitle) => {
    const t = await tenantWith(`wb-${policy}`, policy);
    const [a] = t.apts as [string];
    h.acme.sandbox.store.update('appointment', t.accountId, a, { title: 'Acme title' }); // version 2, not seen by the calendar
    const c = change({ tenant_id: t.tenantId, acme_id: a, calendar_version: 1, base_acme_version: 1, changed_at: Date.now() + 60_000, changed_fields: ['TITLE'], title: 'Calendar title' });
    await produceChanges(h.stack, h.producer, [c]);
    const { runner } = startRunner();
    await runner.start();
    await vi.waitFor(async () => expect(await received(runner.groupId, t.tenantId)).toBe(1), { timeout: 45_000, interval: 200 });
    await runner.stop();
    expect(h.acme.sandbox.store.get('appointment', t.accountId, a)!.title).toBe(finalTitle);
    const conflicts = await conflictRows(h.stack.pool, t.tenantId);
    expect(conflicts).toEqual([expect.objectContaining({ change_id: c.change_id, policy, winner, acme_version: '2', base_acme_version: '1', fields: ['title'] })]);
    expect((await changeRows(h.stack.pool, t.tenantId))[0]).toMatchObject({ outcome: 'conflict' });
    const overrides = writes(t.accountId).filter((w) => w.idempotency_key.includes('.over.'));
    expect(overrides.map((w) => w.applied)).toEqual(winner === 'calendar' ? [1] : []);
  });

  it("sends 422 (with Acme's field errors) and 403 (no write scope) to the DLQ, replayable, and keeps going", async () => {
    const t = await tenantWith('wb-reject');
    const [a, b] = t.apts as [string, string];
    const bad = change({ tenant_id: t.tenantId, acme_id: a, calendar_version: 1, base_acme_version: 1, changed_fields: ['ENDS_AT'], ends_at: Date.parse('2000-01-01T00:00:00Z') });
    const good = change({ tenant_id: t.tenantId, acme_id: b, calendar_version: 1, base_acme_version: 1, changed_fields: ['TITLE'], title: 'Fine' });
    await produceChanges(h.stack, h.producer, [bad, good]);
    const { runner } = startRunner();
    await runner.start();
    await vi.waitFor(async () => expect(await received(runner.groupId, t.tenantId)).toBe(2), { timeout: 45_000, interval: 200 });

    const readOnly = h.acme.sandbox.auth.createApiKey(t.accountId, undefined, ['crm.read']);
    await h.tenants.updateSecrets(t.tenantId, (s) => ({ ...s, apiKey: readOnly }));
    const denied = change({ tenant_id: t.tenantId, acme_id: b, calendar_version: 2, base_acme_version: 2, changed_fields: ['LOCATION'], location: 'Here' });
    await produceChanges(h.stack, h.producer, [denied]);
    await vi.waitFor(async () => expect(await received(runner.groupId, t.tenantId)).toBe(3), { timeout: 45_000, interval: 200 });
    await runner.stop();

    const dlq = (await readDlq(h.stack.kafka, h.stack.topics.dlq, { tenantId: t.tenantId })).map((r) => r.headers);
    expect(dlq).toEqual([
      expect.objectContaining({ [DLQ_HEADERS.code]: 'ACME_VALIDATION_FAILED', [DLQ_HEADERS.stage]: 'writeback', [DLQ_HEADERS.acmeId]: a }),
      expect.objectContaining({ [DLQ_HEADERS.code]: 'ACME_WRITE_FORBIDDEN', [DLQ_HEADERS.acmeId]: b }),
    ]);
    expect(dlq[1]![DLQ_HEADERS.message]).toMatch(/crm\.write/);
    expect(h.acme.sandbox.store.get('appointment', t.accountId, b)!.title).toBe('Fine');
    // Rejected changes are not recorded as handled: a replay after the fix runs them again.
    expect((await changeRows(h.stack.pool, t.tenantId)).map((r) => r.change_id)).toEqual([good.change_id]);

    // The customer grants write access again; the DLQ'd change is replayed and applied.
    await h.tenants.updateSecrets(t.tenantId, (s) => ({ ...s, apiKey: t.apiKey }));
    const forbidden = (await readDlq(h.stack.kafka, h.stack.topics.dlq, { tenantId: t.tenantId, code: 'ACME_WRITE_FORBIDDEN' }));
    const report = await replayDlq(forbidden, { producer: h.kafkaProducer, pool: h.stack.pool, dlqTopic: h.stack.topics.dlq, allowedTopics: new Set([h.stack.topics.calendar_changes]) });
    expect(report.byOutcome.replayed).toBe(1);
    // The same consumer group: only the replayed record is new to it.
    const again = startRunner(runner.groupId).runner;
    await again.start();
    await vi.waitFor(async () => expect(await received(runner.groupId, t.tenantId)).toBe(4), { timeout: 45_000, interval: 200 });
    expect(h.acme.sandbox.store.get('appointment', t.accountId, b)!.location).toBe('Here');
    expect((await changeRows(h.stack.pool, t.tenantId)).map((r) => [r.change_id, r.outcome])).toEqual([[good.change_id, 'applied'], [denied.change_id, 'applied']]);
    await again.stop();
  });

  it('waits out an Acme outage with the partition paused, then applies every change exactly once', async () => {
    const t = await tenantWith('wb-outage');
    const [a] = t.apts as [string];
    const { runner, metrics } = startRunner();
    await runner.start();
    h.acme.sandbox.faults.set({ outage5xx: 1 });
    const changes = [1, 2, 3].map((v) => change({ tenant_id: t.tenantId, acme_id: a, calendar_version: v, base_acme_version: 1, changed_fields: ['TITLE'], title: `Edit ${v}` }));
    try {
      await produceChanges(h.stack, h.producer, changes);
      await vi.waitFor(async () => expect(((await metrics.getSingleMetric('acme_sync_writebacks_total')?.get())?.values ?? []).find((v) => v.labels.outcome === 'retried')?.value ?? 0).toBeGreaterThan(3), { timeout: 45_000, interval: 200 });
      expect(await received(runner.groupId, t.tenantId)).toBe(0);
    } finally {
      h.acme.sandbox.faults.set({ outage5xx: 0 });
    }
    await vi.waitFor(async () => expect(await received(runner.groupId, t.tenantId)).toBe(3), { timeout: 45_000, interval: 200 });
    await runner.stop();
    expect(h.acme.sandbox.store.get('appointment', t.accountId, a)).toMatchObject({ version: 4, title: 'Edit 3' });
    expect(writes(t.accountId).map((w) => w.applied)).toEqual([1, 1, 1]);
    expect((await changeRows(h.stack.pool, t.tenantId)).map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
  });
});

import { describe, expect, it, vi } from 'vitest';
import { DLQ_HEADERS, readLedger } from '../../src/consumers/runtime/index.js';
import { recordKey } from '../../src/kafka/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { appointment, contact, readTopic, useHarness } from './support/harness.js';

const h = useHarness();

const ledgerOf = async (groupId: string, tenantId: string) => (await readLedger(h.stack.pool, groupId)).find((r) => r.tenantId === tenantId);

describe('the calendar flow through the runner', () => {
  it('bug: every written row emitted an output — a new version that changes nothing a subscriber sees is written and counted, but not published', async () => {
    await createApiKeyTenant(h.acme, h.tenants, 'cal-vis');
    const T = 'cal-vis';
    const runner = h.runner({ groupId: `${h.stack.id}-visible` });
    await runner.start();
    // One version at a time (in one batch the newest version alone would be written).
    const versions = [{ title: 'same', correlation_id: 'first' }, { title: 'same', correlation_id: 'second' }, { title: 'moved', correlation_id: 'third' }];
    for (const [i, v] of versions.entries()) {
      await h.produce([{ kind: 'appointments', value: appointment({ tenant_id: T, acme_id: 'apt_same', acme_version: i + 1, ...v }) }]);
      await vi.waitFor(async () => expect(await ledgerOf(runner.groupId, T)).toMatchObject({ received: i + 1, written: i + 1, dlq: 0, skipped: 0 }), { timeout: 45_000, interval: 200 });
    }
    const row = (await h.calendarRows()).find((r) => r.tenant_id === T)!;
    expect(row).toMatchObject({ acme_version: '3', correlation_id: 'third' });
    // Versions 1 and 3 are visible changes; version 2 only moved the version and the correlation ID.
    await vi.waitFor(async () => {
      const published = (await readTopic(h.stack, h.stack.topics.calendar)).filter((r) => r.key === recordKey(T, 'apt_same'));
      const versions = await Promise.all(published.map(async (r) => ((await h.stack.codec.decode(r.value)).value as { acme_version: number }).acme_version));
      expect(versions).toEqual([1, 3]);
    }, { timeout: 45_000, interval: 200 });
    await runner.stop();
  });

  it('keeps one row per appointment, newest version wins, enriched from contacts known before, after or only in Acme', async () => {
    const t = await createApiKeyTenant(h.acme, h.tenants, 'cal-a');
    const rep = h.acme.sandbox.store.createUser(t.accountId, { name: 'Rep', email: 'rep@example.com', time_zone: 'Europe/Berlin' });
    const inAcme = h.acme.sandbox.store.create('contact', t.accountId, { first_name: 'Grace', last_name: 'Hopper', email: 'grace@example.com', phone: '+1 555', company: 'Navy' });
    // Known to Acme, but its contact event reaches us only after the appointment that names it.
    const after = h.acme.sandbox.store.create('contact', t.accountId, { first_name: 'Early', last_name: 'Bird', email: 'early@example.com', phone: null, company: null });
    // Every contact event names a contact Acme has (the unknown-contact rule asks Acme when the event is not in yet).
    const before = h.acme.sandbox.store.create('contact', t.accountId, { first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000', company: 'Analytical Engines' });
    const A = 'cal-a';
    const events = [
      { kind: 'contacts', value: contact({ tenant_id: A, acme_id: before.id }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_1', contact_id: before.id, owner_user_id: rep.id, title: 'v1' }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_1', contact_id: before.id, owner_user_id: rep.id, title: 'v3', acme_version: 3 }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_1', contact_id: before.id, owner_user_id: rep.id, title: 'v2 late', acme_version: 2 }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_1', contact_id: before.id, owner_user_id: rep.id, title: 'v3', acme_version: 3 }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_acme', contact_id: inAcme.id }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_after', contact_id: after.id }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_cancel', status: 'CANCELLED', acme_version: 2 }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_del', acme_version: 2, operation: 'DELETE', starts_at: null, ends_at: null }) },
      { kind: 'appointments', value: appointment({ tenant_id: A, acme_id: 'apt_del', acme_version: 1, title: 'revived?' }) },
    ] as const;
    await h.produce(events);
    const runner = h.runner();
    await runner.start();
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, A))?.received).toBe(events.length), { timeout: 45_000, interval: 200 });
    // The contact arrives after its appointment was written: the row picks it up.
    await h.produce([{ kind: 'contacts', value: contact({ tenant_id: A, acme_id: after.id, acme_version: 2, first_name: 'Late', last_name: 'Comer', email: 'late@example.com' }) }]);
    await vi.waitFor(async () => expect((await ledgerOf(runner.groupId, A))?.received).toBe(events.length + 1), { timeout: 45_000, interval: 200 });

    const rows = Object.fromEntries((await h.calendarRows()).filter((r) => r.tenant_id === A).map((r) => [r.acme_appointment_id, r]));
    expect(Object.keys(rows).sort()).toEqual(['apt_1', 'apt_acme', 'apt_after', 'apt_cancel', 'apt_del']);
    expect(rows.apt_1).toMatchObject({ acme_version: '3', title: 'v3 with Ada Lovelace', user_id: 'rep@example.com', customer_email: 'ada@example.com', status: 'ACTIVE' });
    expect(rows.apt_acme).toMatchObject({ customer_name: 'Grace Hopper', customer_phone: '+1 555', title: 'Demo with Grace Hopper' });
    expect(rows.apt_after).toMatchObject({ customer_name: 'Late Comer', customer_email: 'late@example.com', title: 'Demo with Late Comer' });
    expect(rows.apt_cancel).toMatchObject({ status: 'CANCELLED' });
    expect(rows.apt_del).toMatchObject({ status: 'CANCELLED', acme_version: '2', starts_at: null });
    const ledger = (await ledgerOf(runner.groupId, A))!;
    expect(ledger.received).toBe(ledger.written + ledger.dlq + ledger.skipped);
    expect(ledger.dlq).toBe(0);

    // Every change reached the calendar topic; its latest record per key is the row.
    const published = await vi.waitFor(async () => {
      const out = await readTopic(h.stack, h.stack.topics.calendar);
      const latest = new Map<string, Record<string, unknown>>();
      for (const r of out) latest.set(r.key!, (await h.stack.codec.decode(r.value)).value);
      expect(latest.get(recordKey(A, 'apt_after'))).toMatchObject({ customer_name: 'Late Comer' });
      return latest;
    }, { timeout: 45_000, interval: 200 });
    expect(published.get(recordKey(A, 'apt_1'))).toMatchObject({ acme_version: 3, title: 'v3 with Ada Lovelace', status: 'ACTIVE' });
    expect(published.get(recordKey(A, 'apt_cancel'))).toMatchObject({ status: 'CANCELLED' });
    expect(published.has(recordKey(A, 'apt_del'))).toBe(false);
    await runner.stop();
  });

  it('sends bad records to the DLQ with their original bytes and every error header while good ones flow on', async () => {
    await createApiKeyTenant(h.acme, h.tenants, 'cal-b');
    const B = 'cal-b';
    const garbage = Buffer.from('not avro at all');
    await h.produce([
      { kind: 'appointments', key: `${B}:apt_garbage`, raw: garbage },
      { kind: 'appointments', value: appointment({ tenant_id: B, acme_id: 'apt_nostart', starts_at: null }) },
      { kind: 'appointments', value: appointment({ tenant_id: 'nobody', acme_id: 'apt_stranger' }) },
      { kind: 'appointments', value: appointment({ tenant_id: B, acme_id: 'apt_good' }) },
    ]);
    const runner = h.runner({ groupId: `${h.stack.id}-dlq` });
    await runner.start();
    await vi.waitFor(async () => expect((await h.calendarRows()).some((r) => r.acme_appointment_id === 'apt_good')).toBe(true), { timeout: 45_000, interval: 200 });
    const dlq = await vi.waitFor(async () => {
      const records = (await readTopic(h.stack, h.stack.topics.dlq)).filter((r) => r.headers[DLQ_HEADERS.consumerGroup] === runner.groupId);
      expect(records.length).toBeGreaterThanOrEqual(3);
      return records;
    }, { timeout: 45_000, interval: 200 });
    const byKey = Object.fromEntries(dlq.map((r) => [r.key, r]));
    const bad = byKey[`${B}:apt_garbage`]!;
    expect(bad.value).toEqual(garbage);
    expect(bad.headers).toMatchObject({ [DLQ_HEADERS.stage]: 'decode', [DLQ_HEADERS.code]: 'DECODE_FAILED', [DLQ_HEADERS.tenant]: B, [DLQ_HEADERS.acmeId]: 'apt_garbage', [DLQ_HEADERS.topic]: h.stack.topics.appointments });
    for (const header of Object.values(DLQ_HEADERS)) expect(bad.headers[header], header).toBeDefined();
    expect(byKey[`${B}:apt_nostart`]!.headers).toMatchObject({ [DLQ_HEADERS.stage]: 'validate', [DLQ_HEADERS.code]: 'VALIDATION_FAILED' });
    expect(byKey['nobody:apt_stranger']!.headers).toMatchObject({ [DLQ_HEADERS.stage]: 'validate', [DLQ_HEADERS.code]: 'UNKNOWN_TENANT', [DLQ_HEADERS.tenant]: 'nobody' });
    const nostart = byKey[`${B}:apt_nostart`]!;
    expect(Number(nostart.headers[DLQ_HEADERS.schemaId])).toBe(h.stack.schemaIds.appointments);
    expect((await h.stack.codec.decode(nostart.value)).value).toMatchObject({ acme_id: 'apt_nostart' });
    const ledger = (await ledgerOf(runner.groupId, B))!;
    expect(ledger).toMatchObject({ dlq: 2 });
    expect(ledger.received).toBe(ledger.written + ledger.dlq + ledger.skipped);
    await runner.stop();
  });

  it('skips records below the offset stored in PostgreSQL (zombie fencing)', async () => {
    await createApiKeyTenant(h.acme, h.tenants, 'cal-c');
    const C = 'cal-c';
    const groupId = `${h.stack.id}-fence`;
    const send = async (v: number, title: string) => {
      const [meta] = await h.producer.send({ topic: h.stack.topics.appointments, acks: -1, messages: [{ key: recordKey(C, 'apt_f'), value: await h.stack.codec.encode('appointments', appointment({ tenant_id: C, acme_id: 'apt_f', acme_version: v, title })) }] });
      return meta!;
    };
    // Version 5 sits below the stored offset: another member already handled it (say).
    const below = await send(5, 'below the stored offset');
    await send(1, 'above');
    await h.stack.pool.query('INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)', [groupId, h.stack.topics.appointments, below.partition, BigInt(below.baseOffset!) + 1n]);
    const runner = h.runner({ groupId });
    await runner.start();
    await vi.waitFor(async () => expect((await h.calendarRows()).find((r) => r.acme_appointment_id === 'apt_f')).toMatchObject({ acme_version: '1', title: 'above' }), { timeout: 45_000, interval: 200 });
    expect((await ledgerOf(groupId, C))?.received).toBe(1);
    await runner.stop();
  });
});

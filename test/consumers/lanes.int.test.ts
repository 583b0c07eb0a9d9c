/**
 * Issue 17, separate lanes for history and live changes: backfill and reconciliation
 * records travel on the history topics and are consumed by each flow's own history
 * group, while newest-version-wins still holds across the lanes — an older version a
 * backfill reads never overwrites a newer live one, in the calendar AND in the
 * touch-point facts and counts. Generated matrix: per record, a live version first, then
 * on the history lane every older version (and, for every other record, one newer
 * version, as a reconciliation finding a lost change would bring).
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { KafkaProducer } from '../../src/kafka/index.js';
import { readLedger } from '../../src/consumers/runtime/index.js';

import { recordKey } from '../../src/kafka/topics.js';
import { createLogger } from '../../src/logger.js';
import { createConsumers } from '../../src/processes/consumers.js';
import { createLanePublisher } from '../../src/producers/lane-publisher.js';
import type { EventPublisher } from '../../src/producers/publisher.js';
import type { OutboundEvent } from '../../src/transforms/acme-to-event.js';
import type { AcmeActivityEvent, Source } from '../../src/transforms/types.js';
import { createApiKeyTenant, seedAccount, startSandbox, tenantsOf, type RunningSandbox } from '../acme/sandbox-tenants.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { readTopic } from './support/harness.js';
import { appointment } from './support/harness.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let producer: KafkaProducer;
let publisher: EventPublisher;
let consumers: FastifyInstance;
const group = (flow: string) => `${stack.id}.${flow}`;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  env = await startSandbox();
  producer = stack.kafka.producer();
  await producer.connect();
  publisher = createLanePublisher({ producer, codec: stack.codec, topics: stack.topics, lingerMs: 0 });
  consumers = await createConsumers({
    config: stack.config, logger: createLogger({ level: 'silent', name: 'lanes-test' }), runtime: stack, groupIdOf: group,
    runner: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, retry: { initialDelayMs: 100, maxDelayMs: 1_000 } },
  });
});
afterAll(async () => {
  await consumers?.close();
  await publisher?.close();
  await producer?.disconnect();
  await env?.sandbox.close();
  await stack?.close();
});

/** The generated matrix: record i has live version 2 + i % 3; history brings 1..live-1, and live+1 for odd i. */
function matrix(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const live = 2 + (i % 3);
    const history = [...Array.from({ length: live - 1 }, (_, v) => v + 1), ...(i % 2 === 1 ? [live + 1] : [])];
    return { i, live, history, newest: Math.max(live, ...history) };
  });
}
const SOURCES: readonly Source[] = ['BACKFILL', 'RECONCILE'];

async function ledgerOf(groupId: string, tenantId: string) {
  return (await readLedger(stack.pool, groupId)).find((r) => r.tenantId === tenantId);
}

describe('history and live lanes', () => {
  it('puts backfill and reconciliation records on the history topics and live ones on the live topics', async () => {
    const t = 'lanes-topics';
    const ev = (source: Source, id: string): OutboundEvent => ({ kind: 'appointments', key: recordKey(t, id), value: appointment({ tenant_id: t, acme_id: id, source }) });
    await publisher.publish([ev('WEBHOOK', 'apt_w'), ev('POLL', 'apt_p'), ev('BACKFILL', 'apt_b'), ev('RECONCILE', 'apt_r')]);
    const keys = async (topic: string) => (await readTopic(stack, topic)).map((r) => r.key).filter((k) => k?.startsWith(`${t}:`)).sort();
    expect(await keys(stack.topics.appointments)).toEqual([`${t}:apt_p`, `${t}:apt_w`]);
    expect(await keys(stack.topics.appointmentsHistory)).toEqual([`${t}:apt_b`, `${t}:apt_r`]);
    const [record] = (await readTopic(stack, stack.topics.appointmentsHistory)).filter((r) => r.key === `${t}:apt_b`);
    expect((await stack.codec.decode<{ source: string }>(record!.value)).value.source).toBe('BACKFILL');
  });

  it('never lets an older version on the history lane overwrite a newer live calendar row, and lets a newer one through', async () => {
    const { tenantId: T } = await createApiKeyTenant(env, tenantsOf(stack.pool, stack.config).tenants, 'lanes-cal');
    const cases = matrix(12);
    const id = (i: number) => `apt_${i}`;
    const ev = (i: number, v: number, source: Source): OutboundEvent => ({
      kind: 'appointments', key: recordKey(T, id(i)), value: appointment({ tenant_id: T, acme_id: id(i), acme_version: v, title: `a${i} v${v}`, source }),
    });
    await publisher.publish(cases.map((c) => ev(c.i, c.live, 'WEBHOOK')));
    const rows = async () => Object.fromEntries((await stack.pool.query<{ acme_appointment_id: string; title: string; acme_version: string }>(
      'SELECT acme_appointment_id, title, acme_version FROM calendar_events WHERE tenant_id = $1', [T])).rows.map((r) => [r.acme_appointment_id, r.title]));
    const liveTitles = Object.fromEntries(cases.map((c) => [id(c.i), `a${c.i} v${c.live}`]));
    await vi.waitFor(async () => expect(await rows()).toEqual(liveTitles), { timeout: 60_000, interval: 200 });

    const history = cases.flatMap((c) => c.history.map((v, k) => ev(c.i, v, SOURCES[k % 2]!)));
    await publisher.publish(history);
    // The history group consumed every one of them (so the assertion below is not early).
    await vi.waitFor(async () => expect((await ledgerOf(`${group('calendar')}.history`, T))?.received).toBe(history.length), { timeout: 60_000, interval: 200 });
    expect(await rows()).toEqual(Object.fromEntries(cases.map((c) => [id(c.i), `a${c.i} v${c.newest}`])));
    const ledger = (await ledgerOf(`${group('calendar')}.history`, T))!;
    expect(ledger.written).toBe(cases.filter((c) => c.newest > c.live).length);
    expect(ledger.skipped).toBe(history.length - ledger.written);
  });

  it('never lets an older activity version on the history lane move a live touch-point fact or its counts', async () => {
    const { tenants } = tenantsOf(stack.pool, stack.config);
    const { tenantId: T, accountId } = await createApiKeyTenant(env, tenants, 'lanes-tp');
    const { user } = seedAccount(env.sandbox, accountId, { contacts: 1, appointments: 0, activities: 0 });
    const cases = matrix(9);
    const id = (i: number) => `act_${i}`;
    // Live versions are calls on Dec 2; every other version an email on Dec 1 (newer history ones on Dec 3).
    const day = { older: Date.parse('2026-12-01T10:00:00Z'), live: Date.parse('2026-12-02T10:00:00Z'), newer: Date.parse('2026-12-03T10:00:00Z') };
    const ev = (i: number, v: number, source: Source, kind: keyof typeof day): OutboundEvent => {
      const value: AcmeActivityEvent = {
        event_id: `${T}-${i}-${v}-${source}`, tenant_id: T, acme_id: id(i), acme_version: v, acme_updated_at: day[kind], operation: 'UPSERT', source,
        received_at: Date.now(), correlation_id: null, activity_type: kind === 'live' ? 'call' : 'email', direction: 'outbound', user_id: user.id,
        contact_id: null, subject: `v${v}`, occurred_at: day[kind], duration_seconds: null,
      };
      return { kind: 'activities', key: recordKey(T, id(i)), value };
    };
    const counts = async () => Object.fromEntries((await stack.pool.query<{ day: string; channel: string; count: number }>(
      `SELECT day::text AS day, channel, count FROM touchpoint_counts WHERE tenant_id = $1 AND count > 0`, [T])).rows.map((r) => [`${r.day} ${r.channel}`, r.count]));

    await publisher.publish(cases.map((c) => ev(c.i, c.live, 'WEBHOOK', 'live')));
    await vi.waitFor(async () => expect(await counts()).toEqual({ '2026-12-02 PHONE': cases.length }), { timeout: 60_000, interval: 200 });

    const history = cases.flatMap((c) => c.history.map((v, k) => ev(c.i, v, SOURCES[k % 2]!, v > c.live ? 'newer' : 'older')));
    await publisher.publish(history);
    await vi.waitFor(async () => expect((await ledgerOf(`${group('touchpoints')}.history`, T))?.received).toBe(history.length), { timeout: 60_000, interval: 200 });
    const newer = cases.filter((c) => c.newest > c.live).length;
    expect(await counts()).toEqual({ '2026-12-02 PHONE': cases.length - newer, '2026-12-03 EMAIL': newer });
    const { rows: facts } = await stack.pool.query<{ acme_id: string; acme_version: string }>('SELECT acme_id, acme_version FROM activity_facts WHERE tenant_id = $1', [T]);
    expect(Object.fromEntries(facts.map((f) => [f.acme_id, Number(f.acme_version)]))).toEqual(Object.fromEntries(cases.map((c) => [id(c.i), c.newest])));
  });

  it('keeps the two groups of a flow apart in the stored offsets: one row per (group, topic, partition), each lane on its own topics', async () => {
    const { rows } = await stack.pool.query<{ group_id: string; topic: string }>('SELECT DISTINCT group_id, topic FROM consumer_offsets WHERE group_id LIKE $1 ORDER BY 1, 2', [`${stack.id}.%`]);
    const topicsOf = (g: string) => rows.filter((r) => r.group_id === g).map((r) => r.topic);
    expect(topicsOf(group('calendar'))).toEqual([stack.topics.appointments]);
    expect(topicsOf(`${group('calendar')}.history`)).toEqual([stack.topics.appointmentsHistory]);
    expect(topicsOf(group('touchpoints'))).toEqual([stack.topics.activities]);
    expect(topicsOf(`${group('touchpoints')}.history`)).toEqual([stack.topics.activitiesHistory]);
  });
});

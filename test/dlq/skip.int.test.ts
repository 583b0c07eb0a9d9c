/**
 * Issue 12: "there was no way to move past the record except editing the offsets table
 * by hand — which also skipped the good records in the same batch". `acme-sync dlq skip`
 * (src/dlq/skip.ts) sends exactly one stuck record to the DLQ, recorded and shown.
 */
import { describe, expect, it, vi } from 'vitest';
import { DLQ_HEADERS, readLedger, type Flow } from '../../src/consumers/runtime/index.js';
import { readDlq } from '../../src/dlq/index.js';
import { SKIP_HEADERS, skipRecord } from '../../src/dlq/skip.js';
import { recordKey } from '../../src/kafka/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { appointment, useHarness } from '../consumers/support/harness.js';

const h = useHarness();

describe('acme-sync dlq skip', () => {
  it('moves the one record that stops a runner to the DLQ (who, when, why) and past it; the runner resumes and writes every other record once', async () => {
    const T = 'skip-a';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const key = recordKey(T, 'apt_batch');
    // One key: one partition, one batch.
    const titles = ['one', 'two', 'wedge', 'four', 'five'];
    const sent = [];
    for (const title of titles) sent.push((await h.producer.send({ topic: h.stack.topics.appointments, acks: -1, messages: [{ key, value: await h.stack.codec.encode('appointments', appointment({ tenant_id: T, acme_id: `apt_${title}`, title })) }] }))[0]!);
    const wedged = sent[2]!;
    const seen: string[] = [];
    // A bug no rule foresaw: the flow throws on one record, so the runner stops (as it must) on every restart.
    const flow: Flow<string[]> = {
      name: 'wedge', inputs: ['appointments'],
      prepare: async (records) => {
        const mine = records.filter((r) => (r.value as { tenant_id: string }).tenant_id === T);
        if (mine.some((r) => (r.value as { title: string }).title === 'wedge')) throw new TypeError('cannot read properties of undefined');
        return { ready: mine.map((r) => (r.value as { title: string }).title), dlq: [] };
      },
      apply: async (_db, titles) => {
        seen.push(...titles);
        return { written: new Map([[T, titles.length]]), skipped: new Map(), outputs: [] };
      },
    };
    const groupId = `${h.stack.id}-wedge`;
    // Only this test's partition matters: start the group at the first of its records.
    await h.stack.pool.query('INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)', [groupId, h.stack.topics.appointments, wedged.partition, sent[0]!.baseOffset]);
    const first = h.runner({ groupId, flow: flow as Flow });
    await first.start();
    await expect(first.done).rejects.toThrow('cannot read properties');

    // The stored offset stands at the start of the failing batch, before the wedge: the good records before it are not done yet.
    const { rows: offsets } = await h.stack.pool.query<{ next_offset: string }>('SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND partition = $2', [groupId, wedged.partition]);
    expect(BigInt(offsets[0]!.next_offset)).toBeLessThan(BigInt(wedged.baseOffset!));
    // Refused for a record that is not there.
    await expect(skipRecord({ kafka: h.stack.kafka, pool: h.stack.pool }, { topic: h.stack.topics.appointments, partition: wedged.partition, offset: '999999', operator: 'ops', reason: 'wrong one' })).rejects.toThrow(/No record at/);

    const result = await skipRecord({ kafka: h.stack.kafka, pool: h.stack.pool }, { topic: h.stack.topics.appointments, partition: wedged.partition, offset: wedged.baseOffset!, operator: 'alice', reason: 'TypeError in the wedge flow, ticket OPS-1' });
    expect(result).toMatchObject({ tenantId: T, acmeId: 'apt_batch', pendingGroups: expect.arrayContaining([groupId]) });

    const resumed = h.runner({ groupId, flow: flow as Flow });
    await resumed.start();
    await vi.waitFor(async () => expect(seen.filter((t) => t !== 'wedge').sort()).toEqual(['five', 'four', 'one', 'two']), { timeout: 45_000, interval: 200 });
    expect(seen.filter((t) => t === 'one')).toHaveLength(1);

    const records = await vi.waitFor(async () => {
      const found = await readDlq(h.stack.kafka, h.stack.topics.dlq, { code: 'OPERATOR_SKIPPED', tenantId: T });
      expect(found).toHaveLength(1);
      return found;
    }, { timeout: 45_000, interval: 200 });
    const record = records[0]!;
    expect(record.error).toMatchObject({ stage: 'sink', sourceOffset: wedged.baseOffset, message: 'Skipped by alice: TypeError in the wedge flow, ticket OPS-1' });
    expect(record.headers).toMatchObject({ [SKIP_HEADERS.operator]: 'alice', [DLQ_HEADERS.consumerGroup]: groupId, [SKIP_HEADERS.at]: expect.stringMatching(/^\d{4}-/) });
    expect((await h.stack.codec.decode(record.value)).value).toMatchObject({ acme_id: 'apt_wedge', title: 'wedge' });
    const { rows } = await h.stack.pool.query('SELECT code, message FROM dlq_entries WHERE tenant_id = $1', [T]);
    expect(rows).toEqual([{ code: 'OPERATOR_SKIPPED', message: 'Skipped by alice: TypeError in the wedge flow, ticket OPS-1' }]);
    const ledger = (await readLedger(h.stack.pool, groupId)).find((r) => r.tenantId === T)!;
    expect(ledger).toMatchObject({ received: 5, written: 4, dlq: 1 });
    await resumed.stop();
  });
});

import { describe, expect, it } from 'vitest';
import { createCalendarFlow } from '../../../../src/consumers/calendar/index.js';
import { readLedger, readNextOffset, type InboundRecord } from '../../../../src/consumers/runtime/index.js';
import { runBatchInDatabase } from '../../../../src/consumers/runtime/stages/apply.js';
import { recordKey } from '../../../../src/kafka/index.js';
import { createApiKeyTenant } from '../../../acme/sandbox-tenants.js';
import { appointment, useHarness } from '../../support/harness.js';

const h = useHarness();

describe('runBatchInDatabase (the runner’s per-batch SQL without Kafka, for the database-alone benchmark)', () => {
  it('writes the rows, the outbox rows, the ledger and the next offset as the runner does; a second run of the same batch is fenced off by the offset', async () => {
    const T = 'db-alone';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const groupId = `${h.stack.id}-db-alone`;
    const records: InboundRecord[] = [0, 1, 2].map((i) => {
      const value = appointment({ tenant_id: T, acme_id: `apt_${i}`, title: `t${i}` });
      return { topic: h.stack.topics.appointments, kind: 'appointments', partition: 0, offset: String(100 + i), key: recordKey(T, `apt_${i}`), value, schemaId: 1, headers: {}, timestamp: Date.now(), raw: null };
    });
    const deps = { pool: h.stack.pool, codec: h.stack.codec, topics: h.stack.topics, flow: createCalendarFlow({ pool: h.stack.pool }), context: h.context(), groupId, clientId: 'bench' };
    const first = await runBatchInDatabase(deps, records);
    expect(first).toMatchObject({ written: 3, skipped: 0, outputs: 3, nextOffset: '103' });
    expect((await h.calendarRows()).filter((r) => r.tenant_id === T)).toHaveLength(3);
    expect(await readNextOffset(h.stack.pool, { groupId, topic: h.stack.topics.appointments, partition: 0 })).toBe('103');
    expect((await readLedger(h.stack.pool, groupId)).find((r) => r.tenantId === T)).toMatchObject({ received: 3, written: 3, dlq: 0, skipped: 0 });
    expect((await h.stack.pool.query('SELECT count(*)::int AS n FROM outbox WHERE source_group = $1', [groupId])).rows[0].n).toBe(3);
    // The stored offset moved: a caller still holding the old one is refenced (as a zombie member would be).
    await expect(runBatchInDatabase(deps, records, null)).rejects.toThrow();
  });
});

import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withTransaction } from '../../../src/db/index.js';
import { applyActivityFacts } from '../../../src/consumers/sinks/touchpoints.js';
import { CHANNELS, type ActivityFact } from '../../../src/transforms/touchpoints.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

const counts = async (tenantId: string) => {
  const { rows } = await stack.pool.query<{ k: string; count: number }>(
    "SELECT acme_user_id || '/' || day::text || '/' || channel AS k, count FROM touchpoint_counts WHERE tenant_id = $1", [tenantId]);
  return new Map(rows.map((r) => [r.k, r.count]));
};

const fact = fc.record({
  id: fc.integer({ min: 0, max: 4 }), user: fc.constantFrom('usr_1', 'usr_2', null), day: fc.constantFrom('2026-12-01', '2026-12-02'),
  channel: fc.constantFrom(CHANNELS[0], CHANNELS[1], null), deleted: fc.boolean(),
});

describe('the touch-point sink reports a changed aggregate (an output) exactly when its count changed (generated)', () => {
  it('over batches of moves, deletes, re-deliveries and moves that cancel out', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fact, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }), async (batches) => {
        const tenantId = `tpv-${randomUUID()}`;
        let version = 0;
        for (const batch of batches) {
          const facts: ActivityFact[] = batch.map((f) => ({ tenantId, acmeId: `act_${f.id}`, version: ++version, acmeUserId: f.user, channel: f.channel, day: f.day, deleted: f.deleted }));
          const before = await counts(tenantId);
          const result = await withTransaction(stack.pool, (db) => applyActivityFacts(db, facts));
          const after = await counts(tenantId);
          const moved = [...after].filter(([k, n]) => (before.get(k) ?? 0) !== n).map(([k, n]) => [k, n]);
          expect(result.changed.map((c) => [`${c.acmeUserId}/${c.day}/${c.channel}`, c.count]).sort()).toEqual(moved.sort());
        }
      }),
      { numRuns: 30 },
    );
  });
});

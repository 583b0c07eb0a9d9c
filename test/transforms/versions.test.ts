import { describe, expect, it } from 'vitest';
import { newestPerKey } from '../../src/transforms/versions.js';

const row = (tenantId: string, acmeId: string, v: number, tag = '') => ({ tenantId, acmeId, v, tag });

describe('newestPerKey', () => {
  it('keeps the newest version of each (tenant, Acme ID), whatever the arrival order', () => {
    const rows = [row('t1', 'a', 2), row('t1', 'a', 5), row('t1', 'a', 3), row('t2', 'a', 1), row('t1', 'b', 1)];
    expect(newestPerKey(rows, (r) => r.v).map((r) => `${r.tenantId}/${r.acmeId}@${r.v}`).sort()).toEqual(['t1/a@5', 't1/b@1', 't2/a@1']);
  });

  it('lets an equal version lose to the one seen first (a redelivery changes nothing)', () => {
    expect(newestPerKey([row('t', 'a', 4, 'first'), row('t', 'a', 4, 'again')], (r) => r.v)).toEqual([row('t', 'a', 4, 'first')]);
  });

  it('does not confuse IDs that join into the same text', () => {
    expect(newestPerKey([row('t:1', 'a', 1), row('t', '1:a', 2)], (r) => r.v)).toHaveLength(2);
  });

  it('never mutates its input', () => {
    const rows = Object.freeze([Object.freeze(row('t', 'a', 1)), Object.freeze(row('t', 'a', 2))]);
    expect(() => newestPerKey(rows, (r) => r.v)).not.toThrow();
    expect(rows.map((r) => r.v)).toEqual([1, 2]);
  });
});

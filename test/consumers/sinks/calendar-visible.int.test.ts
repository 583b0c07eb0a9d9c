import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withTransaction } from '../../../src/db/index.js';
import { updateCalendarCustomers, upsertCalendarRows } from '../../../src/consumers/sinks/calendar.js';
import type { CalendarRow } from '../../../src/transforms/calendar.js';
import { createIsolatedStack, type IsolatedStack } from '../../helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

/** What a subscriber of the calendar topic sees (toCalendarEventValue) … */
const VISIBLE = ['userId', 'acmeOwnerUserId', 'title', 'startsAt', 'endsAt', 'timeZone', 'location', 'status', 'customerName', 'customerEmail', 'customerPhone'] as const;
/** … and what it does not (bookkeeping, or not in the output). */
const INVISIBLE = ['correlationId', 'customerCompany', 'acmeTitle', 'acmeContactId'] as const;
const CUSTOMER = ['title', 'customerName', 'customerEmail', 'customerPhone', 'customerCompany'] as const;
type Field = (typeof VISIBLE)[number] | (typeof INVISIBLE)[number];

let n = 0;
function baseRow(): CalendarRow {
  n++;
  return {
    tenantId: 'vis', acmeAppointmentId: `apt_${n}`, acmeVersion: 1, userId: 'u@example.com', acmeOwnerUserId: 'usr_1', acmeContactId: 'con_1', title: 'Demo', acmeTitle: 'Demo',
    startsAt: Date.parse('2026-12-01T10:00:00Z'), endsAt: Date.parse('2026-12-01T11:00:00Z'), timeZone: 'UTC', location: 'Room 1', status: 'ACTIVE',
    customerName: 'Ada', customerEmail: 'ada@example.com', customerPhone: '+44', customerCompany: 'Engines', correlationId: 'c1',
  };
}
function mutate(row: CalendarRow, fields: readonly Field[]): CalendarRow {
  const next: Record<string, unknown> = { ...row };
  for (const f of fields) {
    if (f === 'startsAt' || f === 'endsAt') next[f] = (row[f] as number) + 60_000;
    else if (f === 'status') next[f] = row.status === 'ACTIVE' ? 'CANCELLED' : 'ACTIVE';
    else next[f] = `${String(row[f])}*`;
  }
  return next as unknown as CalendarRow;
}
const isVisible = (fields: readonly Field[]) => fields.some((f) => (VISIBLE as readonly string[]).includes(f));

describe('the calendar sink marks a written row as a visible change only when a field a subscriber sees changed (generated)', () => {
  it('a new version: written either way, visible exactly when a visible field differs from the row it replaced', async () => {
    await fc.assert(
      fc.asyncProperty(fc.subarray([...VISIBLE, ...INVISIBLE]), async (fields) => {
        const base = baseRow();
        await withTransaction(stack.pool, (db) => upsertCalendarRows(db, [base]));
        const written = await withTransaction(stack.pool, (db) => upsertCalendarRows(db, [{ ...mutate(base, fields), acmeVersion: 2 }]));
        expect(written).toHaveLength(1);
        expect(written[0]!.visibleChange).toBe(isVisible(fields));
      }),
      { numRuns: 40 },
    );
  });

  it('a new row is always a visible change; an older version writes nothing', async () => {
    const base = baseRow();
    expect((await withTransaction(stack.pool, (db) => upsertCalendarRows(db, [{ ...base, acmeVersion: 5 }])))[0]!.visibleChange).toBe(true);
    expect(await withTransaction(stack.pool, (db) => upsertCalendarRows(db, [mutate(base, ['title'])]))).toEqual([]);
  });

  it('a contact re-enrichment: visible exactly when a visible customer field changed (a company-only change is not)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.subarray([...CUSTOMER], { minLength: 1 }), async (fields) => {
        const base = baseRow();
        await withTransaction(stack.pool, (db) => upsertCalendarRows(db, [base]));
        const written = await withTransaction(stack.pool, (db) => updateCalendarCustomers(db, [mutate(base, fields)]));
        expect(written).toHaveLength(1);
        expect(written[0]!.visibleChange).toBe(isVisible(fields));
      }),
      { numRuns: 20 },
    );
  });
});

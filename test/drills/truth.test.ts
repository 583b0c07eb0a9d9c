import { describe, expect, it } from 'vitest';
import type { TruthCalendarEvent, TruthTouchPoint } from '../../sandbox/src/index.js';
import { passed, type DrillResult } from '../../drills/support/drill.js';
import { compareRows, type CalendarRow, type CountRow } from '../../drills/support/truth.js';

const truthEvent: TruthCalendarEvent = {
  account_id: 'acc_1', appointment_id: 'apt_1', title: 'Demo', starts_at: '2025-03-07T15:00:00.000Z', ends_at: '2025-03-07T16:00:00.000Z',
  time_zone: 'America/New_York', status: 'active', owner_user_id: 'usr_1', owner_email: 'rep@acme.test', contact_id: 'con_1',
  contact: { name: 'Ada Lovelace', phone: '+15550100', email: 'ada@example.test' }, version: 3,
};
const row = (over: Partial<CalendarRow> = {}): CalendarRow => ({
  tenant_id: 'acc_1', acme_appointment_id: 'apt_1', acme_version: '3', user_id: 'rep@acme.test', title: 'Demo',
  starts_at: new Date('2025-03-07T15:00:00Z'), ends_at: new Date('2025-03-07T16:00:00Z'), time_zone: 'America/New_York', status: 'ACTIVE',
  customer_name: 'Ada Lovelace', customer_email: 'ada@example.test', customer_phone: '+15550100', ...over,
});
const point: TruthTouchPoint = { account_id: 'acc_1', user_id: 'usr_1', user_email: 'rep@acme.test', day: '2025-03-07', channel: 'email', count: 2 };
const count = (n: number): CountRow => ({ tenant_id: 'acc_1', acme_user_id: 'usr_1', day: '2025-03-07', channel: 'EMAIL', count: n });
const truth = { calendar_events: [truthEvent], touch_points: [point] };

describe('the drills\' comparison with the generator\'s truth', () => {
  it('finds nothing lost, duplicated or wrong when the rows equal the truth', () => {
    expect(compareRows([row()], [count(2)], truth)).toMatchObject({ lost: 0, duplicated: 0, wrong: 0, calendarRows: 1, touchPoints: 2 });
  });

  it('counts a missing calendar row and touch-points counted too few times as lost', () => {
    expect(compareRows([], [count(1)], truth)).toMatchObject({ lost: 2, duplicated: 0, wrong: 0 });
  });

  it('counts touch-points counted twice and rows the truth lacks as duplicated', () => {
    const extra = row({ acme_appointment_id: 'apt_2' });
    expect(compareRows([row(), extra], [count(4)], truth)).toMatchObject({ lost: 0, duplicated: 3, wrong: 0 });
  });

  it('counts a row overwritten by an older version as wrong', () => {
    const result = compareRows([row({ acme_version: '2', title: 'Old demo' })], [count(2)], truth);
    expect(result).toMatchObject({ lost: 0, duplicated: 0, wrong: 1 });
    expect(result.examples[0]).toContain('apt_1');
  });
});

describe('a drill\'s verdict', () => {
  const ok: DrillResult = { drill: 'x', events: 10, lost: 0, duplicated: 0, wrong: 0, dlqExpected: 2, dlqActual: 2, durationMs: 1, notes: '' };
  it('passes only with nothing lost, duplicated or wrong, the DLQ as expected and its own check met', () => {
    expect(passed(ok)).toBe(true);
    expect(passed({ ...ok, lost: 1 })).toBe(false);
    expect(passed({ ...ok, duplicated: 1 })).toBe(false);
    expect(passed({ ...ok, dlqActual: 1 })).toBe(false);
    expect(passed({ ...ok, extraOk: false })).toBe(false);
  });
});

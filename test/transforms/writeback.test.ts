/**
 * Issue 15, the pure part of write-back. fast-check generates histories of our own
 * writes (each based on a version the calendar saw) and checks the class: a change
 * based on any version inside our chain is sent with If-Match of our latest version (no
 * false conflict from our own echoes), a change based on a version before the chain
 * keeps its own base (Acme's edit in between must conflict); field switches decide what
 * flows back; newest-wins compares edit times; settings are off by default.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/tenants/repository.js';
import {
  conflictWinner, idempotencyKeyFor, ifMatchFor, isAlreadyHandled, isEcho, stateAfterWrite, toAcmePatch, validateChange, type CalendarChange, type WritebackState,
} from '../../src/transforms/writeback.js';

const change = (o: Partial<CalendarChange> = {}): CalendarChange => ({
  change_id: 'c', tenant_id: 't', acme_id: 'apt_1', calendar_version: 1, base_acme_version: 1, changed_at: 0, changed_by: 'u', changed_fields: ['TITLE'],
  title: 'T', starts_at: null, ends_at: null, time_zone: null, location: null, status: null, correlation_id: null, ...o,
});
const ALL = { title: true, time: true, location: true, status: true };

describe('write-back transforms', () => {
  it('sends our latest version for any base inside our chain of writes, and the base itself before it (generated)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 60 }), (start, writes, probe) => {
        // Writes in a row, each based on the version the calendar first saw (it never sees our echoes).
        let state: WritebackState | undefined;
        let version = start;
        for (let i = 1; i <= writes; i++) {
          const c = change({ change_id: `c${i}`, calendar_version: i, base_acme_version: start });
          const ifMatch = ifMatchFor(c, state, undefined);
          expect(ifMatch).toBe(version); // never a false 412: always Acme's current version
          version++;
          state = stateAfterWrite(c, state, ifMatch, version);
        }
        const sent = ifMatchFor(change({ calendar_version: 99, base_acme_version: probe }), state, undefined);
        expect(sent).toBe(probe >= start && probe <= version ? version : probe);
      }),
    );
  });

  it('takes only the fields the tenant writes back, and ignores field names from a newer schema', () => {
    const c = change({ changed_fields: ['TITLE', 'STARTS_AT', 'LOCATION', 'STATUS', 'UNKNOWN'], starts_at: 0, location: null, status: 'CANCELLED' });
    expect(toAcmePatch(c, ALL)).toEqual({ title: 'T', starts_at: '1970-01-01T00:00:00.000Z', location: null, status: 'cancelled' });
    expect(toAcmePatch(c, { ...ALL, time: false, title: false })).toEqual({ location: null, status: 'cancelled' });
    expect(toAcmePatch(change({ changed_fields: ['UNKNOWN'] }), ALL)).toEqual({});
  });

  it('suppresses a change that repeats the values of the version it would write against, and only then', () => {
    const known = { acmeVersion: 3, title: 'T', startsAt: 0, endsAt: 1, timeZone: 'UTC', location: null, status: 'ACTIVE' as const };
    expect(isEcho({ title: 'T', location: null, status: 'scheduled' }, 3, known)).toBe(true);
    expect(isEcho({ title: 'T' }, 4, known)).toBe(false); // our newer write stands between: a genuine edit
    expect(isEcho({ title: 'U' }, 3, known)).toBe(false);
  });

  it('skips re-published and out-of-order changes; keys derive from the change ID', () => {
    const state = { lastChangeId: 'c2', lastCalendarVersion: 2, chainBase: 1, acmeVersion: 3 };
    expect(isAlreadyHandled(change({ change_id: 'c2', calendar_version: 2 }), state)).toBe('duplicate');
    expect(isAlreadyHandled(change({ change_id: 'c1', calendar_version: 1 }), state)).toBe('stale');
    expect(isAlreadyHandled(change({ change_id: 'c3', calendar_version: 3 }), state)).toBeUndefined();
    expect(idempotencyKeyFor('c1')).toBe(idempotencyKeyFor('c1'));
    expect(idempotencyKeyFor('c1', 5)).not.toBe(idempotencyKeyFor('c1'));
  });

  it('picks winners by policy; newest-wins by edit time, Acme on ties and on deletion', () => {
    expect(conflictWinner('acme-wins', 10, 0, false)).toBe('acme');
    expect(conflictWinner('calendar-wins', 0, 10, false)).toBe('calendar');
    expect(conflictWinner('calendar-wins', 0, 10, true)).toBe('acme');
    expect(conflictWinner('newest-wins', 11, 10, false)).toBe('calendar');
    expect(conflictWinner('newest-wins', 10, 10, false)).toBe('acme');
  });

  it('refuses changes that cannot mean anything to Acme', () => {
    expect(validateChange(change())).toBeUndefined();
    expect(validateChange(change({ acme_id: 'con_1' }))?.message).toMatch(/acme_id/);
    expect(validateChange(change({ change_id: 'with space' }))?.message).toMatch(/change_id/);
    expect(validateChange(change({ changed_fields: ['TIME_ZONE'], time_zone: 'Mars/Base' }))?.message).toMatch(/TIME_ZONE/);
    expect(validateChange(change({ changed_fields: ['STATUS'], status: null }))?.message).toMatch(/STATUS/);
  });

  it('keeps write-back off by default and names a bad policy', () => {
    expect(parseSettings({}).writeback).toEqual({ enabled: false, conflictPolicy: 'acme-wins', fields: ALL });
    expect(() => parseSettings({ writeback: { conflictPolicy: 'loudest-wins' } })).toThrow(/settings\.writeback\.conflictPolicy/);
  });
});

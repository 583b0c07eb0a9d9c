import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.js';
import { DEFAULT_SETTINGS, tenantSettingsSchema } from '../../src/tenants/types.js';
import {
  channelOf, countDeltas, dayFromNumber, dayNumber, isDay, localDay, newestFacts, pickTimeZone, toActivityFact,
  type ActivityFact,
} from '../../src/transforms/touchpoints.js';
import type { AcmeActivityEvent } from '../../src/transforms/types.js';

function activity(overrides: Partial<AcmeActivityEvent> = {}): AcmeActivityEvent {
  return {
    event_id: 'evt-1',
    tenant_id: 'tenant-a',
    acme_id: 'act_1',
    acme_version: 1,
    acme_updated_at: Date.parse('2026-03-10T12:00:00Z'),
    operation: 'UPSERT',
    source: 'WEBHOOK',
    received_at: Date.parse('2026-03-10T12:00:01Z'),
    correlation_id: null,
    activity_type: 'email',
    direction: 'outbound',
    user_id: 'usr_1',
    contact_id: 'con_1',
    subject: 'Quote',
    occurred_at: Date.parse('2026-03-10T12:00:00Z'),
    duration_seconds: null,
    ...overrides,
  };
}

const utc = { settings: DEFAULT_SETTINGS, timeZone: 'UTC' };

function fact(overrides: Partial<ActivityFact> = {}): ActivityFact {
  return { tenantId: 'tenant-a', acmeId: 'act_1', version: 1, acmeUserId: 'usr_1', channel: 'EMAIL', day: '2026-03-10', deleted: false, ...overrides };
}

describe('the local day of a touch-point', () => {
  it('is the date in the user time zone, not in UTC, just after midnight UTC', () => {
    const instant = Date.parse('2026-03-10T00:30:00Z');
    expect(localDay(instant, 'UTC')).toBe('2026-03-10');
    expect(localDay(instant, 'America/New_York')).toBe('2026-03-09');
    expect(localDay(instant, 'Asia/Tokyo')).toBe('2026-03-10');
  });

  it('is the next day east of UTC just before midnight UTC', () => {
    const instant = Date.parse('2026-03-10T23:30:00Z');
    expect(localDay(instant, 'Europe/Berlin')).toBe('2026-03-11');
    expect(localDay(instant, 'Asia/Kolkata')).toBe('2026-03-11');
    expect(localDay(instant, 'America/Los_Angeles')).toBe('2026-03-10');
  });

  it('changes exactly at local midnight', () => {
    // Berlin is UTC+1 in January: local midnight is 23:00 UTC.
    expect(localDay(Date.parse('2026-01-14T22:59:59.999Z'), 'Europe/Berlin')).toBe('2026-01-14');
    expect(localDay(Date.parse('2026-01-14T23:00:00.000Z'), 'Europe/Berlin')).toBe('2026-01-15');
  });

  it('follows the offset change on a DST day', () => {
    // New York springs forward on 2026-03-08 at 02:00 local (07:00 UTC): UTC-5 before, UTC-4 after.
    expect(localDay(Date.parse('2026-03-08T04:59:00Z'), 'America/New_York')).toBe('2026-03-07');
    expect(localDay(Date.parse('2026-03-08T05:00:00Z'), 'America/New_York')).toBe('2026-03-08');
    expect(localDay(Date.parse('2026-03-09T03:59:00Z'), 'America/New_York')).toBe('2026-03-08');
    expect(localDay(Date.parse('2026-03-09T04:00:00Z'), 'America/New_York')).toBe('2026-03-09');
    // Berlin falls back on 2026-10-25 at 03:00 local (01:00 UTC): that day has 25 hours.
    expect(localDay(Date.parse('2026-10-24T21:59:00Z'), 'Europe/Berlin')).toBe('2026-10-24');
    expect(localDay(Date.parse('2026-10-24T22:00:00Z'), 'Europe/Berlin')).toBe('2026-10-25');
    expect(localDay(Date.parse('2026-10-25T22:59:00Z'), 'Europe/Berlin')).toBe('2026-10-25');
    expect(localDay(Date.parse('2026-10-25T23:00:00Z'), 'Europe/Berlin')).toBe('2026-10-26');
  });

  it('handles zones with a half-hour offset and across the date line', () => {
    const instant = Date.parse('2026-06-30T18:45:00Z');
    expect(localDay(instant, 'Asia/Kathmandu')).toBe('2026-07-01'); // UTC+5:45
    expect(localDay(instant, 'Pacific/Kiritimati')).toBe('2026-07-01'); // UTC+14
    expect(localDay(instant, 'Pacific/Pago_Pago')).toBe('2026-06-30'); // UTC-11
  });

  it('is null for an instant no calendar can show', () => {
    expect(localDay(Number.NaN, 'UTC')).toBeNull();
    expect(localDay(9e15, 'UTC')).toBeNull();
  });

  it('uses the user time zone when valid and the tenant default otherwise', () => {
    expect(pickTimeZone('Asia/Tokyo', 'Europe/Berlin')).toBe('Asia/Tokyo');
    expect(pickTimeZone(null, 'Europe/Berlin')).toBe('Europe/Berlin');
    expect(pickTimeZone(undefined, 'Europe/Berlin')).toBe('Europe/Berlin');
    expect(pickTimeZone('Mars/Olympus_Mons', 'Europe/Berlin')).toBe('Europe/Berlin');
  });
});

describe('Avro dates', () => {
  it('count days since the epoch and convert back', () => {
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayNumber('2026-03-10')).toBe(20522);
    expect(dayFromNumber(20522)).toBe('2026-03-10');
    expect(dayFromNumber(dayNumber('1969-12-31'))).toBe('1969-12-31');
  });

  it('accept only real calendar dates', () => {
    expect(isDay('2028-02-29')).toBe(true);
    expect(isDay('2026-02-29')).toBe(false);
    expect(isDay('2026-13-01')).toBe(false);
    expect(isDay('2026-3-1')).toBe(false);
  });
});

describe('the channel of an activity type', () => {
  it('maps email to EMAIL and call to PHONE by default, and nothing else', () => {
    expect(channelOf('email', DEFAULT_SETTINGS)).toBe('EMAIL');
    expect(channelOf('call', DEFAULT_SETTINGS)).toBe('PHONE');
    expect(channelOf('meeting', DEFAULT_SETTINGS)).toBeNull();
    expect(channelOf('note', DEFAULT_SETTINGS)).toBeNull();
    expect(channelOf(null, DEFAULT_SETTINGS)).toBeNull();
  });

  it('follows the tenant settings, case-insensitively', () => {
    const settings = tenantSettingsSchema.parse({ touchpointTypes: { email: ['email', 'newsletter'], phone: ['call', 'sms', 'Video_Call'] } });
    expect(channelOf('newsletter', settings)).toBe('EMAIL');
    expect(channelOf('SMS', settings)).toBe('PHONE');
    expect(channelOf('video_call', settings)).toBe('PHONE');
    expect(channelOf('meeting', settings)).toBeNull();
  });

  it('counts nothing when a tenant lists no types for a channel', () => {
    const settings = tenantSettingsSchema.parse({ touchpointTypes: { email: ['email'], phone: [] } });
    expect(channelOf('call', settings)).toBeNull();
  });
});

describe('an activity event as a touch-point fact', () => {
  it('carries the user, channel, local day and version', () => {
    const event = activity({ acme_version: 4, activity_type: 'call', occurred_at: Date.parse('2026-03-10T02:00:00Z') });
    expect(toActivityFact(event, { settings: DEFAULT_SETTINGS, timeZone: 'America/Chicago' })).toEqual({
      tenantId: 'tenant-a', acmeId: 'act_1', version: 4, acmeUserId: 'usr_1', channel: 'PHONE', day: '2026-03-09', deleted: false,
    });
  });

  it('keeps a meeting or a note as a fact that counts nowhere', () => {
    expect(toActivityFact(activity({ activity_type: 'meeting' }), utc).channel).toBeNull();
    expect(toActivityFact(activity({ activity_type: 'note', user_id: null, occurred_at: null }), utc)).toMatchObject({ channel: null, acmeUserId: null, day: null });
  });

  it('marks a delete, even one without the fields a counted type needs', () => {
    expect(toActivityFact(activity({ operation: 'DELETE' }), utc)).toMatchObject({ deleted: true, channel: 'EMAIL', day: '2026-03-10' });
    expect(toActivityFact(activity({ operation: 'DELETE', user_id: null, occurred_at: null }), utc)).toMatchObject({ deleted: true, acmeUserId: null, day: null });
  });

  it('refuses a counted activity without a user, naming the field and the validate stage', () => {
    const attempt = () => toActivityFact(activity({ user_id: null }), utc);
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(/user_id/);
    try {
      attempt();
    } catch (err) {
      expect(err).toMatchObject({ stage: 'validate', code: 'VALIDATION_FAILED', context: { field: 'user_id', acmeId: 'act_1', tenantId: 'tenant-a' } });
    }
  });

  it('refuses a counted activity without occurred_at or with an impossible one', () => {
    expect(() => toActivityFact(activity({ occurred_at: null }), utc)).toThrow(/occurred_at/);
    expect(() => toActivityFact(activity({ occurred_at: 9e15 }), utc)).toThrow(/occurred_at/);
    expect(() => toActivityFact(activity({ activity_type: 'call', user_id: '  ' }), utc)).toThrow(/user_id/);
  });

  it('refuses a version that is not a positive integer', () => {
    expect(() => toActivityFact(activity({ acme_version: 0 }), utc)).toThrow(/acme_version/);
  });

  it('never mutates the event or the settings', () => {
    const event = Object.freeze(activity());
    const settings = tenantSettingsSchema.parse({});
    const before = structuredClone(settings);
    Object.freeze(settings.touchpointTypes.email);
    expect(() => toActivityFact(event, { settings, timeZone: 'Europe/Berlin' })).not.toThrow();
    expect(event).toEqual(activity());
    expect(settings).toEqual(before);
  });
});

describe('count deltas between versions of facts', () => {
  it('add one for a new counted fact and nothing for an uncounted one', () => {
    expect(countDeltas([{ previous: null, next: fact() }])).toEqual([{ tenantId: 'tenant-a', acmeUserId: 'usr_1', day: '2026-03-10', channel: 'EMAIL', delta: 1 }]);
    expect(countDeltas([{ previous: null, next: fact({ channel: null }) }])).toEqual([]);
  });

  it('move a count when the day, user or channel changes', () => {
    const deltas = countDeltas([{ previous: fact(), next: fact({ version: 2, day: '2026-03-11', acmeUserId: 'usr_2' }) }]);
    expect(deltas).toEqual([
      { tenantId: 'tenant-a', acmeUserId: 'usr_1', day: '2026-03-10', channel: 'EMAIL', delta: -1 },
      { tenantId: 'tenant-a', acmeUserId: 'usr_2', day: '2026-03-11', channel: 'EMAIL', delta: 1 },
    ]);
  });

  it('remove a count on delete and leave out changes that cancel', () => {
    expect(countDeltas([{ previous: fact(), next: fact({ version: 2, deleted: true }) }])).toEqual([
      { tenantId: 'tenant-a', acmeUserId: 'usr_1', day: '2026-03-10', channel: 'EMAIL', delta: -1 },
    ]);
    expect(countDeltas([{ previous: fact(), next: fact({ version: 2 }) }])).toEqual([]);
  });

  it('sum over several activities in one slot', () => {
    const deltas = countDeltas([
      { previous: null, next: fact({ acmeId: 'act_1' }) },
      { previous: null, next: fact({ acmeId: 'act_2' }) },
      { previous: fact({ acmeId: 'act_3', channel: 'PHONE' }), next: fact({ acmeId: 'act_3', version: 2 }) },
    ]);
    expect(deltas).toEqual([
      { tenantId: 'tenant-a', acmeUserId: 'usr_1', day: '2026-03-10', channel: 'EMAIL', delta: 3 },
      { tenantId: 'tenant-a', acmeUserId: 'usr_1', day: '2026-03-10', channel: 'PHONE', delta: -1 },
    ]);
  });
});

describe('the newest fact per activity', () => {
  it('keeps the highest version, the first of equals, per tenant and ID', () => {
    const facts = [fact({ version: 2, day: 'a' }), fact({ version: 3, day: 'b' }), fact({ version: 3, day: 'c' }), fact({ version: 1 }), fact({ tenantId: 'tenant-b', version: 1 })];
    expect(newestFacts(facts).map((f) => [f.tenantId, f.version, f.day])).toEqual([
      ['tenant-a', 3, 'b'],
      ['tenant-b', 1, '2026-03-10'],
    ]);
  });
});

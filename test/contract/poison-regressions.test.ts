/**
 * Issue 12's bad-data examples, each generated as its class with fast-check and named
 * after the bug it pins. Every one failed on the code before the validation contract
 * (src/contract): the edge (toOutboundEvent) let the value through, or the consumers'
 * transforms accepted it for PostgreSQL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.js';
import { toOutboundEvent, type EventMeta } from '../../src/transforms/acme-to-event.js';
import { validateAppointment } from '../../src/transforms/calendar.js';
import { toActivityFact } from '../../src/transforms/touchpoints.js';
import type { AcmeActivityEvent, AcmeAppointmentEvent, AcmeContactEvent } from '../../src/transforms/types.js';
import { controlChar, extremeInstant, goodInstant, malformedInstant } from '../../drills/support/hostile.js';

const meta: EventMeta = { tenantId: 'acme-eu', source: 'WEBHOOK', receivedAt: 1_800_000_000_000, eventId: 'evt-1', correlationId: null };
const base = { version: 2, created_at: '2026-11-20T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: null };
const appointment = { ...base, id: 'apt_1', owner_user_id: 'usr_1', contact_id: 'con_1', title: 'Review', starts_at: '2026-11-26T09:00:00Z', ends_at: '2026-11-26T10:00:00Z', time_zone: 'Europe/Berlin', location: null, status: 'scheduled' };
const contact = { ...base, id: 'con_1', first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com', phone: '+44 1', company: 'Engines' };
const activity = { ...base, id: 'act_1', type: 'call', direction: 'outbound', user_id: 'usr_1', contact_id: 'con_1', subject: 'Call', occurred_at: '2026-11-26T09:00:00Z', duration_seconds: 60 };
const settings = { touchpointTypes: { email: ['email'], phone: ['call'] } };

/** The edge's verdict: the ValidationError it throws, or undefined when it publishes. */
function edgeRefusal(type: 'appointment' | 'contact' | 'activity', object: Record<string, unknown>): ValidationError | undefined {
  try {
    toOutboundEvent(type, object as never, meta);
    return undefined;
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
}

const TEXT_FIELDS = {
  appointment: ['title', 'location', 'time_zone'],
  contact: ['first_name', 'last_name', 'email', 'phone', 'company'],
  activity: ['subject', 'type', 'direction'],
} as const;
const FREE_TEXT = new Set(['title', 'location', 'subject']);
const OBJECTS = { appointment, contact, activity } as const;
type Kind = keyof typeof OBJECTS;
const kindAndTextField = fc.constantFrom(...(Object.entries(TEXT_FIELDS) as [Kind, readonly string[]][]).flatMap(([k, fields]) => fields.map((f) => [k, f] as const)));

describe('the validation contract at the edge', () => {
  it('bug: a NUL (or any control character) in a contact company reached PostgreSQL and stopped the calendar flow — refused with the field path', () => {
    fc.assert(
      fc.property(kindAndTextField, fc.string({ maxLength: 10 }), controlChar, fc.string({ maxLength: 10 }), ([kind, name], a, c, b) => {
        // Free text (title, location, subject) may hold line breaks and tabs; nothing else may.
        fc.pre(!(FREE_TEXT.has(name) && '\t\n\r'.includes(c)));
        const refusal = edgeRefusal(kind, { ...OBJECTS[kind], [name]: a + c + b });
        expect(refusal?.message).toMatch(new RegExp(`^${kind}\\.${name === 'type' ? 'type' : name}: control character U\\+00`));
      }),
    );
  });

  it("bug: extreme timestamps ('+275760-09-13T00:00:00Z', '0001-01-01T00:00:00+15:00') stopped the calendar flow — refused as out of range", () => {
    fc.assert(
      fc.property(extremeInstant, fc.constantFrom('starts_at', 'ends_at', 'updated_at'), (instant, name) => {
        const refusal = edgeRefusal('appointment', { ...appointment, [name]: instant });
        expect(refusal?.message, instant).toMatch(new RegExp(`^appointment\\.${name}: .*(outside|not an RFC 3339)`));
      }),
    );
  });

  it('bug: non-ISO dates ("Tue, 01 Dec 2026 10:00:00") were read as server-local time and DLQd with a wrong reason — refused as not RFC 3339, naming the field', () => {
    fc.assert(
      fc.property(malformedInstant, fc.constantFrom(['appointment', 'starts_at'], ['activity', 'occurred_at']) as fc.Arbitrary<[Kind, string]>, (instant, [kind, name]) => {
        const refusal = edgeRefusal(kind, { ...OBJECTS[kind], [name]: instant });
        expect(refusal?.message, instant).toMatch(new RegExp(`^${kind}\\.${name}: `));
      }),
    );
  });

  it('accepts every RFC 3339 timestamp in range, as the instant it names', () => {
    fc.assert(
      fc.property(goodInstant, (instant) => {
        expect(toOutboundEvent('appointment', { ...appointment, starts_at: instant } as never, meta).value).toMatchObject({ starts_at: Date.parse(instant) });
      }),
    );
  });

  it('bug: a negative call duration was counted — refused, as is one longer than a week', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 604_801 })), (seconds) => {
        expect(edgeRefusal('activity', { ...activity, duration_seconds: seconds })?.message).toMatch(/^activity\.duration_seconds: /);
      }),
    );
  });

  it('bug: 200,000-character titles and names were stored whole — refused with the length and the cap', () => {
    fc.assert(
      fc.property(kindAndTextField, fc.integer({ min: 2_001, max: 200_000 }), ([kind, name], length) => {
        expect(edgeRefusal(kind, { ...OBJECTS[kind], [name]: 'x'.repeat(length) })?.message).toMatch(new RegExp(`^${kind}\\.${name}: ${length} characters, at most \\d+`));
      }),
      { numRuns: 30 },
    );
  });

  it('bug: a thin or full payload naming a 200 KB object ID went on to Acme — an ID longer than 64 characters or outside [A-Za-z0-9_-] is refused', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 61, max: 200_000 }).map((n) => `apt_${'a'.repeat(n)}`), fc.constantFrom('apt_../x', 'apt_ a', 'apt_%00', 'apt_\u0000')), (id) => {
        expect(edgeRefusal('appointment', { ...appointment, id })?.message).toMatch(/^appointment\.id: /);
      }),
      { numRuns: 30 },
    );
  });
});

describe('the same contract on decoded events in the consumers (a record that reached the topic another way)', () => {
  const event = (o: Partial<AcmeAppointmentEvent>): AcmeAppointmentEvent => ({
    event_id: 'e', tenant_id: 't', acme_id: 'apt_1', acme_version: 1, acme_updated_at: Date.parse('2026-01-01T00:00:00Z'), operation: 'UPSERT', source: 'REPLAY', received_at: 0, correlation_id: null,
    owner_user_id: null, contact_id: null, title: 'x', starts_at: Date.parse('2026-01-02T00:00:00Z'), ends_at: null, time_zone: null, location: null, status: 'SCHEDULED', ...o,
  });

  it('bug: an appointment with an extreme instant (8.64e15 ms, year 275760) passed validation and PostgreSQL refused the batch — refused before the sink', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: Date.UTC(2201, 0, 2), max: 8.64e15 }), fc.integer({ min: -8.64e15, max: Date.UTC(1899, 0, 1) })), (ms) => {
        expect(validateAppointment(event({ starts_at: ms, ends_at: null }))?.message).toMatch(/^appointment\.starts_at: /);
      }),
    );
  });

  it('bug: control characters in decoded text passed to PostgreSQL — refused before the sink', () => {
    fc.assert(
      fc.property(controlChar.filter((c) => !'\t\n\r'.includes(c)), (c) => {
        expect(validateAppointment(event({ title: `a${c}b` }))?.message).toMatch(/^appointment\.title: control character/);
      }),
    );
  });

  it('bug: a negative call duration was counted by the touch-point flow — refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: -1 }), (seconds) => {
        const e: AcmeActivityEvent = {
          event_id: 'e', tenant_id: 't', acme_id: 'act_1', acme_version: 1, acme_updated_at: 0, operation: 'UPSERT', source: 'REPLAY', received_at: 0, correlation_id: null,
          activity_type: 'call', direction: 'outbound', user_id: 'usr_1', contact_id: null, subject: null, occurred_at: Date.parse('2026-01-02T00:00:00Z'), duration_seconds: seconds,
        };
        expect(() => toActivityFact({ ...e, acme_updated_at: Date.parse('2026-01-01T00:00:00Z') }, { settings, timeZone: 'UTC' })).toThrow(/activity\.duration_seconds: /);
      }),
    );
  });
});

// Keeps the type import used when contact events are built elsewhere in this file's class.
export type { AcmeContactEvent };

/**
 * The contract is one: whatever the edge publishes, the consumers' checks accept; whatever
 * the edge refuses, it refuses with a ValidationError naming the field and the rule —
 * never a TypeError, whatever Acme sends (generated across the value space).
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activityViolation, appointmentViolation, contactViolation } from '../../src/contract/events.js';
import { checkInstant, checkText } from '../../src/contract/index.js';
import { ValidationError } from '../../src/errors/index.js';
import { toOutboundEvent, type EventMeta } from '../../src/transforms/acme-to-event.js';
import type { AcmeActivityEvent, AcmeAppointmentEvent, AcmeContactEvent } from '../../src/transforms/types.js';
import { hostileActivity, hostileAppointment, hostileContact, idOf } from '../../drills/support/hostile.js';

const meta: EventMeta = { tenantId: 'acme-eu', source: 'POLL', receivedAt: 1_800_000_000_000, eventId: 'evt-1', correlationId: null };
const refs = { contactIds: idOf('con_'), userIds: idOf('usr_') };
const schema = (file: string) => avro.Type.forSchema(JSON.parse(readFileSync(new URL(`../../schemas/avro/${file}`, import.meta.url), 'utf8')));
const SCHEMAS = { appointment: schema('acme-appointment-event.avsc'), contact: schema('acme-contact-event.avsc'), activity: schema('acme-activity-event.avsc') };

describe('the validation contract', () => {
  const cases = [
    ['appointment', hostileAppointment(refs), (v: unknown) => appointmentViolation(v as AcmeAppointmentEvent)],
    ['contact', hostileContact(refs), (v: unknown) => contactViolation(v as AcmeContactEvent)],
    ['activity', hostileActivity(refs), (v: unknown) => activityViolation(v as AcmeActivityEvent)],
  ] as const;
  for (const [type, arbitrary, consumerCheck] of cases) {
    it(`refuses a hostile ${type} only with a ValidationError naming the field and rule, and publishes only what the consumers' checks accept`, () => {
      let refused = 0;
      let published = 0;
      fc.assert(
        fc.property(arbitrary, (object) => {
          try {
            const { value } = toOutboundEvent(type, object as never, meta);
            published++;
            expect(consumerCheck(value)).toBeUndefined();
            // Bug found by the fuzz drill: a status of "constructor" passed the edge and the Avro encoder refused it (answered 400, never in the DLQ).
            const bad: string[] = [];
            expect(SCHEMAS[type].isValid(value, { errorHook: (path) => bad.push(path.join('.')) }), bad.join(',')).toBe(true);
          } catch (err) {
            expect(err).toBeInstanceOf(ValidationError);
            expect((err as ValidationError).message).toMatch(new RegExp(`^${type}\\.[a-z_]+: `));
            expect((err as ValidationError).context).toMatchObject({ field: expect.stringMatching(new RegExp(`^${type}\\.`)), rule: expect.any(String) });
            refused++;
          }
        }),
        { numRuns: 500 },
      );
      // The generators reach both sides of the contract.
      expect(refused).toBeGreaterThan(50);
      expect(published).toBeGreaterThan(20);
    });
  }

  it('reads an RFC 3339 timestamp as the same instant as Date.parse, offsets included', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1900-01-02T00:00:00Z'), max: new Date('2199-12-30T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (d, offset) => {
        const local = new Date(d.getTime() + offset * 60_000).toISOString().slice(0, 23);
        const sign = offset < 0 ? '-' : '+';
        const text = `${local}${sign}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`;
        expect(checkInstant(text, 'x')).toEqual({ ok: true, value: d.getTime() });
      }),
    );
  });

  it('allows line breaks and tabs in free text only', () => {
    expect(checkText('a\nb\tc', 'f', { max: 10, multiline: true }).ok).toBe(true);
    expect(checkText('a\nb', 'f', { max: 10 })).toMatchObject({ ok: false, violation: { rule: 'control_character' } });
  });
});

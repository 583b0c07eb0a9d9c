import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors/index.js';
import { instantOrNull, toOutboundEvent, type EventMeta } from '../../src/transforms/acme-to-event.js';
import type { AcmeActivity, AcmeAppointment, AcmeContact } from '../../src/acme/types.js';

const meta: EventMeta = { tenantId: 'acme-eu', source: 'WEBHOOK', receivedAt: 1_800_000_000_000, eventId: 'evt-1', correlationId: 'msg_1' };

const appointment: AcmeAppointment = {
  id: 'apt_1', owner_user_id: 'usr_1', contact_id: 'con_1', title: 'Quarterly review', starts_at: '2026-11-26T09:00:00Z',
  ends_at: '2026-11-26T10:00:00Z', time_zone: 'Europe/Berlin', location: 'Room 4', status: 'scheduled', version: 3,
  created_at: '2026-11-20T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: null,
};

describe('toOutboundEvent', () => {
  it('maps an appointment to its topic, key and Avro value with the envelope from meta', () => {
    const out = toOutboundEvent('appointment', appointment, meta);
    expect(out.kind).toBe('appointments');
    expect(out.key).toBe('acme-eu:apt_1');
    expect(out.value).toEqual({
      event_id: 'evt-1', tenant_id: 'acme-eu', acme_id: 'apt_1', acme_version: 3, acme_updated_at: Date.parse('2026-11-25T08:00:00Z'),
      operation: 'UPSERT', source: 'WEBHOOK', received_at: 1_800_000_000_000, correlation_id: 'msg_1', owner_user_id: 'usr_1',
      contact_id: 'con_1', title: 'Quarterly review', starts_at: Date.parse('2026-11-26T09:00:00Z'), ends_at: Date.parse('2026-11-26T10:00:00Z'),
      time_zone: 'Europe/Berlin', location: 'Room 4', status: 'SCHEDULED',
    });
  });

  it('marks a soft-deleted record as a DELETE operation', () => {
    const contact: AcmeContact = {
      id: 'con_1', first_name: 'Ada', last_name: 'L', email: null, phone: null, company: null, version: 2,
      created_at: '2026-11-20T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: '2026-11-25T08:00:00Z',
    };
    expect(toOutboundEvent('contact', contact, meta).value.operation).toBe('DELETE');
  });

  it('passes an identifiable record with bad data through for the consumers to judge', () => {
    const noStart = { ...appointment, starts_at: null as unknown as string, status: 'unheard-of' as 'scheduled' };
    const out = toOutboundEvent('appointment', noStart, meta);
    expect(out.value).toMatchObject({ starts_at: null, status: 'UNKNOWN', acme_id: 'apt_1' });
  });

  it('keeps a call\'s duration and Acme\'s own activity type', () => {
    const call: AcmeActivity = {
      id: 'act_9', type: 'call', direction: 'outbound', user_id: 'usr_2', contact_id: 'con_1', subject: 'Follow-up', occurred_at: '2026-11-25T23:30:00Z',
      duration_seconds: 310, version: 1, created_at: '2026-11-25T23:31:00Z', updated_at: '2026-11-25T23:31:00Z', deleted_at: null,
    };
    expect(toOutboundEvent('activity', call, meta).value).toMatchObject({ activity_type: 'call', duration_seconds: 310, occurred_at: Date.parse('2026-11-25T23:30:00Z') });
  });

  it('refuses a record that cannot be identified, naming the field', () => {
    expect(() => toOutboundEvent('appointment', { ...appointment, id: '' }, meta)).toThrow(/appointment\.id/);
    expect(() => toOutboundEvent('appointment', { ...appointment, version: 0 }, meta)).toThrow(/appointment\.version/);
    expect(() => toOutboundEvent('contact', { id: 'con_1', version: 1, updated_at: 'yesterday' } as Partial<AcmeContact>, meta)).toThrow(ValidationError);
  });

  it('never mutates its input', () => {
    const frozen = Object.freeze({ ...appointment });
    expect(() => toOutboundEvent('appointment', frozen, meta)).not.toThrow();
    expect(frozen).toEqual(appointment);
  });
});

describe('instantOrNull', () => {
  it('reads ISO timestamps and turns anything else into null', () => {
    expect(instantOrNull('2026-11-25T10:00:00.123Z')).toBe(Date.parse('2026-11-25T10:00:00.123Z'));
    expect(instantOrNull('not a date')).toBeNull();
    expect(instantOrNull('')).toBeNull();
    expect(instantOrNull(12345)).toBeNull();
    expect(instantOrNull(null)).toBeNull();
  });
});

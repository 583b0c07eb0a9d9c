import { describe, expect, it } from 'vitest';
import { customerOf, mapUser, renderTitle, toCalendarEventValue, toCalendarRow, withCustomer, UNKNOWN_CUSTOMER } from '../../src/transforms/calendar.js';
import { tenantSettingsSchema } from '../../src/tenants/types.js';
import type { AcmeAppointmentEvent } from '../../src/transforms/types.js';

const settings = tenantSettingsSchema.parse({ defaultTimeZone: 'America/New_York', userMapping: { overrides: { usr_override: 'our-user-7' } } });
const ada = customerOf({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', phone: '+44', company: 'Engines' });

function event(o: Partial<AcmeAppointmentEvent> = {}): AcmeAppointmentEvent {
  return {
    event_id: 'e1', tenant_id: 'tenant-a', acme_id: 'apt_1', acme_version: 3, acme_updated_at: 1, operation: 'UPSERT', source: 'WEBHOOK', received_at: 2,
    correlation_id: 'corr', owner_user_id: 'usr_1', contact_id: 'con_1', title: 'Demo', starts_at: 1_000, ends_at: 2_000, time_zone: 'Europe/Berlin',
    location: 'Berlin', status: 'SCHEDULED', ...o,
  };
}

describe('the calendar transform', () => {
  it('maps an appointment to one row with the customer, the owner by email and the rendered title', () => {
    const result = toCalendarRow(event(), { settings, ownerEmail: 'rep@example.com', customer: ada });
    expect(result.ok && result.row).toMatchObject({
      tenantId: 'tenant-a', acmeAppointmentId: 'apt_1', acmeVersion: 3, userId: 'rep@example.com', title: 'Demo with Ada Lovelace', acmeTitle: 'Demo',
      startsAt: 1_000, endsAt: 2_000, timeZone: 'Europe/Berlin', status: 'ACTIVE', customerName: 'Ada Lovelace', customerEmail: 'ada@example.com', customerPhone: '+44', customerCompany: 'Engines',
    });
  });

  it('prefers a user override to the email and leaves an unknown owner unmapped', () => {
    expect(mapUser(settings, 'usr_override', 'rep@example.com')).toBe('our-user-7');
    expect(mapUser(settings, 'usr_2', null)).toBeNull();
    expect(mapUser(settings, null, 'x@example.com')).toBeNull();
  });

  it('falls back to the tenant default time zone when the appointment has none or an invalid one', () => {
    for (const tz of [null, 'Mars/Olympus']) {
      const result = toCalendarRow(event({ time_zone: tz }), { settings, ownerEmail: null, customer: ada });
      expect(result.ok && result.row.timeZone).toBe('America/New_York');
    }
  });

  it('refuses an appointment without a start with a ValidationError at stage validate', () => {
    const result = toCalendarRow(event({ starts_at: null }), { settings, ownerEmail: null, customer: ada });
    expect(result.ok).toBe(false);
    if (!result.ok) expect([result.error.code, result.error.stage, result.error.context.acmeId]).toEqual(['VALIDATION_FAILED', 'validate', 'apt_1']);
  });

  it('cancels on a delete or a cancelled status, and keeps a delete without data as a placeholder', () => {
    const cancelled = toCalendarRow(event({ status: 'CANCELLED' }), { settings, ownerEmail: null, customer: ada });
    const deleted = toCalendarRow(event({ operation: 'DELETE' }), { settings, ownerEmail: null, customer: ada });
    const bare = toCalendarRow(event({ operation: 'DELETE', starts_at: null, ends_at: null }), { settings, ownerEmail: null, customer: UNKNOWN_CUSTOMER });
    expect([cancelled.ok && cancelled.row.status, deleted.ok && deleted.row.status, bare.ok && bare.row.status, bare.ok && bare.row.startsAt]).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED', null]);
  });

  it('renders templates without dangling words when the customer is unknown', () => {
    expect(renderTitle('{title} with {customer_name}', { title: 'Demo', customerName: null, customerCompany: null, location: null })).toBe('Demo');
    expect(renderTitle('{customer_company}: {title} ({location})', { title: 'Demo', customerName: null, customerCompany: null, location: null })).toBe('Demo');
    expect(renderTitle('{customer_name}', { title: 'Demo', customerName: null, customerCompany: null, location: null })).toBe('Demo');
    expect(renderTitle('{customer_company}: {title} at {location}', { title: 'Demo', customerName: null, customerCompany: 'ACME', location: 'HQ' })).toBe('ACME: Demo at HQ');
  });

  it('re-renders a row for a changed customer and reports no change when nothing visible changed', () => {
    const result = toCalendarRow(event(), { settings, ownerEmail: null, customer: UNKNOWN_CUSTOMER });
    if (!result.ok) throw result.error;
    const enriched = withCustomer(result.row, ada, settings);
    expect(enriched).toMatchObject({ title: 'Demo with Ada Lovelace', customerEmail: 'ada@example.com', acmeVersion: 3 });
    expect(withCustomer(enriched!, ada, settings)).toBeUndefined();
  });

  it('never mutates its input', () => {
    const input = Object.freeze(event());
    const snapshot = structuredClone(input);
    toCalendarRow(input, { settings, ownerEmail: null, customer: ada });
    expect(input).toEqual(snapshot);
  });

  it('produces values with every field of the calendar-event schema', () => {
    const result = toCalendarRow(event(), { settings, ownerEmail: null, customer: ada });
    if (!result.ok) throw result.error;
    expect(Object.keys(toCalendarEventValue(result.row, 5)).sort()).toEqual([
      'acme_appointment_id', 'acme_owner_user_id', 'acme_version', 'correlation_id', 'customer_email', 'customer_name', 'customer_phone', 'ends_at', 'location',
      'starts_at', 'status', 'tenant_id', 'time_zone', 'title', 'updated_at', 'user_id',
    ]);
  });
});

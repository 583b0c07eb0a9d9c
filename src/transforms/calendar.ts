/**
 * Appointment events become calendar rows; contacts enrich them. Pure: no I/O, the
 * clock comes in as a value, inputs are never mutated. The flow
 * (src/consumers/calendar) does the reading and writing around these functions.
 */
import { ERROR_CODES, ValidationError } from '../errors/index.js';
import { isValidTimeZone, type TenantSettings } from '../tenants/types.js';
import { appointmentViolation } from '../contract/events.js';
import { contactEvent } from './acme-to-event.js';
import { contactDisplayName, toContactRow, type ContactRow } from './contact.js';
import type { AcmeContact } from '../acme/types.js';
import type { AcmeAppointmentEvent } from './types.js';

export type CalendarStatus = 'ACTIVE' | 'CANCELLED';

/** What the calendar shows of the customer (the appointment's Acme contact). */
export interface CalendarCustomer {
  name: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
}

export const UNKNOWN_CUSTOMER: CalendarCustomer = Object.freeze({ name: null, email: null, phone: null, company: null });

export interface CalendarRow {
  tenantId: string;
  acmeAppointmentId: string;
  acmeVersion: number;
  userId: string | null;
  acmeOwnerUserId: string | null;
  acmeContactId: string | null;
  title: string;
  /** Acme's own title, kept so a contact change can re-render `title`. */
  acmeTitle: string | null;
  /** Null only for a cancelled placeholder (a delete seen before the appointment's data). */
  startsAt: number | null;
  endsAt: number | null;
  timeZone: string;
  location: string | null;
  status: CalendarStatus;
  customerName: string | null;
  customerEmail: string | null;
  customerPhone: string | null;
  customerCompany: string | null;
  correlationId: string | null;
}

export interface AppointmentContext {
  settings: TenantSettings;
  /** The Acme owner's email (from acme_users), when known. */
  ownerEmail: string | null;
  customer: CalendarCustomer;
}

export type CalendarResult = { ok: true; row: CalendarRow } | { ok: false; error: ValidationError };

export function customerOf(contact: Pick<ContactRow, 'firstName' | 'lastName' | 'email' | 'phone' | 'company'> | undefined): CalendarCustomer {
  if (contact === undefined) return UNKNOWN_CUSTOMER;
  return { name: contactDisplayName(contact), email: contact.email, phone: contact.phone, company: contact.company };
}

/** Our user for an Acme user: an override by Acme user ID, else the Acme user's email, else unmapped. */
export function mapUser(settings: TenantSettings, acmeUserId: string | null, ownerEmail: string | null): string | null {
  if (acmeUserId === null) return null;
  return settings.userMapping.overrides[acmeUserId] ?? ownerEmail ?? null;
}

/** Words that join two placeholders and read oddly when one side is empty ("Demo with "). */
const DANGLING = /^(?:(?:with|at|for|and|-|–|—|\||:|,|·|@)\s+)+|(?:\s+(?:with|at|for|and|-|–|—|\||:|,|·|@))+$/gi;

/** A title template split once into literals (even indexes) and field names (odd indexes). */
const compiledTemplates = new Map<string, readonly string[]>();
const MAX_COMPILED_TEMPLATES = 1_000;

function compileTemplate(template: string): readonly string[] {
  let parts = compiledTemplates.get(template);
  if (parts === undefined) {
    // Tenants edit templates rarely; a bounded cache keeps a flood of distinct ones from growing without limit.
    if (compiledTemplates.size >= MAX_COMPILED_TEMPLATES) compiledTemplates.clear();
    parts = Object.freeze(template.split(/\{([a-z_]+)\}/));
    compiledTemplates.set(template, parts);
  }
  return parts;
}

type TitleParts = { title: string | null; customerName: string | null; customerCompany: string | null; location: string | null };

function fieldOf(parts: TitleParts, name: string): string | null | undefined {
  switch (name) {
    case 'title': return parts.title;
    case 'customer_name': return parts.customerName;
    case 'customer_company': return parts.customerCompany;
    case 'location': return parts.location;
    default: return undefined;
  }
}

/** Any run of whitespace that normalising would change (two or more, a tab or newline, or at an end). */
const UNTIDY_SPACE = /\s\s|[^\S ]|^\s|\s$/;

/**
 * Fill `{title} {customer_name} {customer_company} {location}`; empty parts drop their joining word.
 * Runs once or twice per appointment: the template is compiled once and the common
 * case (every part present, tidy spacing) costs no regular expression at all (found by
 * `npm run bench`: the replace-with-callback version was 6 % of the calendar flow's CPU).
 */
export function renderTitle(template: string, parts: TitleParts): string {
  const compiled = compileTemplate(template);
  let missing = false;
  let filled = compiled[0]!;
  for (let i = 1; i < compiled.length; i += 2) {
    const value = fieldOf(parts, compiled[i]!)?.trim() ?? '';
    if (value === '') missing = true;
    filled += value + compiled[i + 1]!;
  }
  let text = UNTIDY_SPACE.test(filled) ? filled.replace(/\s+/g, ' ').trim() : filled;
  if (missing) text = text.replace(/\(\s*\)/g, '').replace(/\s+/g, ' ').trim().replace(DANGLING, '').trim();
  return text !== '' ? text : parts.title?.trim() || 'Appointment';
}

function statusOf(event: Readonly<AcmeAppointmentEvent>): CalendarStatus {
  return event.operation === 'DELETE' || event.status === 'CANCELLED' ? 'CANCELLED' : 'ACTIVE';
}

function timeZoneOf(event: Readonly<AcmeAppointmentEvent>, settings: TenantSettings): string {
  return event.time_zone !== null && isValidTimeZone(event.time_zone) ? event.time_zone : settings.defaultTimeZone;
}

/** Why this appointment event cannot become a calendar row, or undefined when it can. */
export function validateAppointment(event: Readonly<AcmeAppointmentEvent>): ValidationError | undefined {
  const broken = appointmentViolation(event);
  if (broken !== undefined) return broken;
  const context = { tenantId: event.tenant_id, acmeId: event.acme_id, field: 'starts_at' };
  if (event.starts_at === null && event.operation !== 'DELETE')
    return new ValidationError('appointment.starts_at: an appointment needs a start', { stage: 'validate', code: ERROR_CODES.VALIDATION_FAILED, context });
  if (event.starts_at !== null && event.ends_at !== null && event.ends_at < event.starts_at)
    return new ValidationError('appointment.ends_at: ends before it starts', { stage: 'validate', context: { ...context, field: 'ends_at' } });
  return undefined;
}

/**
 * Validate and map one appointment event. A start is required except on a delete:
 * a delete without data becomes a cancelled placeholder (startsAt null) that keeps
 * an older version from reviving the appointment.
 */
export function toCalendarRow(event: Readonly<AcmeAppointmentEvent>, ctx: AppointmentContext): CalendarResult {
  const error = validateAppointment(event);
  if (error !== undefined) return { ok: false, error };
  const customer = ctx.customer;
  return {
    ok: true,
    row: {
      tenantId: event.tenant_id,
      acmeAppointmentId: event.acme_id,
      acmeVersion: event.acme_version,
      userId: mapUser(ctx.settings, event.owner_user_id, ctx.ownerEmail),
      acmeOwnerUserId: event.owner_user_id,
      acmeContactId: event.contact_id,
      title: renderTitle(ctx.settings.titleTemplate, { title: event.title, customerName: customer.name, customerCompany: customer.company, location: event.location }),
      acmeTitle: event.title,
      startsAt: event.starts_at,
      endsAt: event.ends_at,
      timeZone: timeZoneOf(event, ctx.settings),
      location: event.location,
      status: statusOf(event),
      customerName: customer.name,
      customerEmail: customer.email,
      customerPhone: customer.phone,
      customerCompany: customer.company,
      correlationId: event.correlation_id,
    },
  };
}

/** The row as it shows a (changed) customer; undefined when nothing visible changes. */
export function withCustomer(row: Readonly<CalendarRow>, customer: CalendarCustomer, settings: TenantSettings): CalendarRow | undefined {
  const title = renderTitle(settings.titleTemplate, { title: row.acmeTitle, customerName: customer.name, customerCompany: customer.company, location: row.location });
  const next: CalendarRow = { ...row, title, customerName: customer.name, customerEmail: customer.email, customerPhone: customer.phone, customerCompany: customer.company };
  const same = next.title === row.title && next.customerName === row.customerName && next.customerEmail === row.customerEmail && next.customerPhone === row.customerPhone && next.customerCompany === row.customerCompany;
  return same ? undefined : next;
}

/** Placeholders (no start) are never published: the output schema needs a start. */
export function isPublishable(row: Pick<CalendarRow, 'startsAt'>): boolean {
  return row.startsAt !== null;
}

/** The calendar-event.avsc value for a row (timestamps as epoch ms). */
export function toCalendarEventValue(row: Readonly<CalendarRow>, updatedAt: number): Record<string, unknown> {
  return {
    tenant_id: row.tenantId,
    acme_appointment_id: row.acmeAppointmentId,
    acme_version: row.acmeVersion,
    user_id: row.userId,
    acme_owner_user_id: row.acmeOwnerUserId,
    title: row.title,
    starts_at: row.startsAt,
    ends_at: row.endsAt,
    time_zone: row.timeZone,
    location: row.location,
    status: row.status,
    customer_name: row.customerName,
    customer_email: row.customerEmail,
    customer_phone: row.customerPhone,
    updated_at: updatedAt,
    correlation_id: row.correlationId,
  };
}

/**
 * A contact fetched from Acme's API as a contacts-table row (the table's version guard
 * applies). Acme's answer meets the same validation contract as a webhook's: a
 * ValidationError names the field that breaks it.
 */
export function contactRowFromAcme(tenantId: string, c: Readonly<Partial<AcmeContact>>): ContactRow {
  return toContactRow(contactEvent(c, { tenantId, source: 'UNKNOWN', receivedAt: 0, eventId: '', correlationId: null }));
}

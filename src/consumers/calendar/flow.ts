/**
 * The calendar flow: appointment events → one calendar row per (tenant, Acme
 * appointment), enriched with the customer from the contacts table; contact events →
 * the contacts table, and the calendar rows that show the contact. Every calendar
 * change is published to the calendar topic (key tenant:acmeId).
 */
import type pg from 'pg';
import { ERROR_CODES, isRetriable, toAcmeSyncError, type AcmeSyncError } from '../../errors/index.js';
import { contactViolation } from '../../contract/events.js';
import { recordKey } from '../../kafka/topics.js';
import { contactRowFromAcme, customerOf, isPublishable, toCalendarEventValue, toCalendarRow, validateAppointment, withCustomer, type CalendarRow } from '../../transforms/calendar.js';
import { toContactRow, type ContactRow } from '../../transforms/contact.js';
import { newestPerKey } from '../../transforms/versions.js';
import type { AcmeAppointmentEvent, AcmeContactEvent } from '../../transforms/types.js';
import type { Tenant } from '../../tenants/types.js';
import { calendarRowsForContacts, updateCalendarCustomers, upsertCalendarRows, type StoredCalendarRow, type WrittenCalendarRow } from '../sinks/calendar.js';
import { readContacts, upsertContacts, type Queryable } from '../sinks/contacts.js';
import type { DlqEntry, Flow, FlowContext, InboundRecord, OutputRecord } from '../runtime/types.js';
import { countBy } from '../runtime/ledger.js';
import { lockContacts, type ContactLock } from './locks.js';
import { unknownContact } from '../unknown-contacts.js';
import { tagWritebackEchoes } from '../writeback/origins.js';

interface PreparedAppointment {
  event: AcmeAppointmentEvent;
  settings: Tenant['settings'];
  ownerEmail: string | null;
}

export interface CalendarPrepared {
  appointments: PreparedAppointment[];
  /** Contacts the contacts table did not know, as Acme's API returned them. */
  fetchedContacts: ContactRow[];
  contacts: ContactRow[];
  /** Per tenant, records of tenants whose calendar flow is off. */
  disabled: Map<string, number>;
}

export interface CalendarFlowOptions {
  /** For reads in prepare (the contacts table); writes happen on apply's transaction client. */
  pool: pg.Pool;
}

const contactKey = (tenantId: string, acmeId: string) => `${tenantId}\u0000${acmeId}`;

export function createCalendarFlow(options: CalendarFlowOptions): Flow<CalendarPrepared> {
  return {
    name: 'calendar',
    inputs: ['appointments', 'contacts'],
    async prepare(records, ctx) {
      const ready: CalendarPrepared = { appointments: [], fetchedContacts: [], contacts: [], disabled: new Map() };
      const dlq: DlqEntry[] = [];
      const appointments: InboundRecord<AcmeAppointmentEvent>[] = [];
      for (const record of records) {
        if (record.kind === 'contacts') {
          const broken = contactViolation(record.value as AcmeContactEvent);
          if (broken !== undefined) dlq.push({ record, error: broken });
          else ready.contacts.push(toContactRow(record.value as AcmeContactEvent));
        } else if (record.kind === 'appointments') appointments.push(record as InboundRecord<AcmeAppointmentEvent>);
      }
      await prepareAppointments(appointments, ctx, options.pool, ready, dlq);
      return { ready, dlq };
    },
    async apply(db, prepared, ctx) {
      const outputs: OutputRecord[] = [];
      const contactLocks: ContactLock[] = [
        ...prepared.contacts.map((c) => ({ tenantId: c.tenantId, acmeId: c.acmeId, exclusive: true })),
        ...prepared.fetchedContacts.map((c) => ({ tenantId: c.tenantId, acmeId: c.acmeId, exclusive: true })),
        ...prepared.appointments.flatMap(({ event }) => (event.contact_id === null ? [] : [{ tenantId: event.tenant_id, acmeId: event.contact_id, exclusive: false }])),
      ];
      await lockContacts(db, contactLocks);

      const changedContacts = await upsertContacts(db, [...prepared.contacts, ...prepared.fetchedContacts]);
      const changedByEvents = new Set(changedContacts.map((c) => contactKey(c.tenantId, c.acmeId)));
      const contactsWritten = newestPerKey(prepared.contacts, (c) => c.acmeVersion).filter((c) => changedByEvents.has(contactKey(c.tenantId, c.acmeId)));
      outputs.push(...(await refreshCustomers(db, changedContacts, ctx)).map(toOutput));

      const changedRows = await applyAppointments(db, prepared.appointments);
      // Outputs only for changes a subscriber can see (issue 14): a new version that only
      // moves acme_version / correlation_id is written (and counted) but not published.
      outputs.push(...changedRows.filter((r) => r.visibleChange && isPublishable(r)).map(toOutput));
      const written = countBy([...contactsWritten, ...changedRows], (r) => r.tenantId);
      // Skipped: per tenant, what was handed to apply (or switched off) and changed nothing.
      const skipped = new Map(prepared.disabled);
      const handed = [...prepared.contacts.map((c) => c.tenantId), ...prepared.appointments.map((a) => a.event.tenant_id)];
      for (const [tenantId, received] of countBy(handed, (id) => id)) skipped.set(tenantId, (skipped.get(tenantId) ?? 0) + received);
      for (const [tenantId, n] of written) skipped.set(tenantId, (skipped.get(tenantId) ?? 0) - n);
      // Two-way sync: the echo of our own write-back says so (issue 15).
      await tagWritebackEchoes(db, outputs);
      return { written, skipped, outputs };
    },
  };
}

function toOutput(row: StoredCalendarRow): OutputRecord {
  return { kind: 'calendar', key: recordKey(row.tenantId, row.acmeAppointmentId), value: toCalendarEventValue(row, row.updatedAt) };
}

/** Is this failure "Acme does not have it" (keep the fields null) rather than a real problem? */
function isNotFound(err: unknown): boolean {
  return !isRetriable(err) && toAcmeSyncError(err, 'enrich').code === ERROR_CODES.ACME_NOT_FOUND;
}

/** Transient failures throw (the batch retries); anything else permanent is this record's problem. */
function asEnrichFailure(err: unknown, context: Record<string, string>): AcmeSyncError {
  if (isRetriable(err)) throw err;
  return toAcmeSyncError(err, 'enrich', context);
}

async function prepareAppointments(records: InboundRecord<AcmeAppointmentEvent>[], ctx: FlowContext, pool: pg.Pool, ready: CalendarPrepared, dlq: DlqEntry[]): Promise<void> {
  const valid: { record: InboundRecord<AcmeAppointmentEvent>; tenant: Tenant }[] = [];
  for (const record of records) {
    const event = record.value;
    const tenant = (await ctx.tenants.get(event.tenant_id))!;
    if (!tenant.settings.flows.calendar) {
      ready.disabled.set(tenant.id, (ready.disabled.get(tenant.id) ?? 0) + 1);
      continue;
    }
    const invalid = validateAppointment(event);
    if (invalid !== undefined) dlq.push({ record, error: invalid });
    else valid.push({ record, tenant });
  }

  // The owners' stored Acme users in one query (not one per owner: 1,000 tenants, 1,000 queries).
  await ctx.tenants.preload?.({ users: valid.flatMap(({ record: { value: e } }) => (e.owner_user_id === null ? [] : [{ tenantId: e.tenant_id, acmeUserId: e.owner_user_id }])) });
  const wanted = [...new Map(valid.flatMap(({ record: { value: e } }) => (e.contact_id === null ? [] : [[contactKey(e.tenant_id, e.contact_id), { tenantId: e.tenant_id, acmeId: e.contact_id }] as const]))).values()];
  const known = new Set((await readContacts(pool, wanted)).map((c) => contactKey(c.tenantId, c.acmeId)));
  const failedContacts = new Map<string, AcmeSyncError>();
  for (const { tenantId, acmeId } of wanted.filter((k) => !known.has(contactKey(k.tenantId, k.acmeId)))) {
    try {
      const contact = await ctx.acme(tenantId).get('contact', acmeId);
      ready.fetchedContacts.push(contactRowFromAcme(tenantId, contact));
    } catch (err) {
      // The rule for unknown contacts (docs/OPERATIONS.md, "Unknown contacts"): not yet in
      // our contacts table means "ask Acme"; Acme answering 404 means the record names a
      // contact that does not exist — bad data, for the DLQ, as the touch-point flow does.
      failedContacts.set(contactKey(tenantId, acmeId), isNotFound(err) ? unknownContact(tenantId, acmeId) : asEnrichFailure(err, { tenantId, contactId: acmeId }));
    }
  }

  for (const { record, tenant } of valid) {
    const event = record.value;
    const contactFailure = event.contact_id === null ? undefined : failedContacts.get(contactKey(event.tenant_id, event.contact_id));
    if (contactFailure !== undefined) {
      dlq.push({ record, error: contactFailure });
      continue;
    }
    try {
      const overridden = event.owner_user_id !== null && tenant.settings.userMapping.overrides[event.owner_user_id] !== undefined;
      const owner = event.owner_user_id === null || overridden ? undefined : await ctx.tenants.acmeUser(event.tenant_id, event.owner_user_id);
      ready.appointments.push({ event, settings: tenant.settings, ownerEmail: owner?.email ?? null });
    } catch (err) {
      dlq.push({ record, error: asEnrichFailure(err, { tenantId: event.tenant_id, acmeUserId: event.owner_user_id ?? '' }) });
    }
  }
}

async function applyAppointments(db: Queryable, appointments: readonly PreparedAppointment[]): Promise<WrittenCalendarRow[]> {
  const contactIds = appointments.flatMap(({ event }) => (event.contact_id === null ? [] : [{ tenantId: event.tenant_id, acmeId: event.contact_id }]));
  const contacts = new Map((await readContacts(db, contactIds)).map((c) => [contactKey(c.tenantId, c.acmeId), c]));
  const rows: CalendarRow[] = [];
  for (const { event, settings, ownerEmail } of appointments) {
    const contact = event.contact_id === null ? undefined : contacts.get(contactKey(event.tenant_id, event.contact_id));
    const result = toCalendarRow(event, { settings, ownerEmail, customer: customerOf(contact) });
    if (result.ok) rows.push(result.row);
  }
  return upsertCalendarRows(db, rows);
}

/** Calendar rows showing a changed contact take its new name, email, phone and company. */
async function refreshCustomers(db: Queryable, changed: readonly { tenantId: string; acmeId: string }[], ctx: FlowContext): Promise<StoredCalendarRow[]> {
  if (changed.length === 0) return [];
  const rows = await calendarRowsForContacts(db, changed);
  if (rows.length === 0) return [];
  const contacts = new Map((await readContacts(db, changed)).map((c) => [contactKey(c.tenantId, c.acmeId), c]));
  const updates: CalendarRow[] = [];
  for (const row of rows) {
    const tenant = await ctx.tenants.get(row.tenantId);
    const contact = contacts.get(contactKey(row.tenantId, row.acmeContactId ?? ''));
    if (tenant === undefined || contact === undefined) continue;
    const next = withCustomer(row, customerOf(contact), tenant.settings);
    if (next !== undefined) updates.push(next);
  }
  return (await updateCalendarCustomers(db, updates)).filter((r) => r.visibleChange && isPublishable(r));
}

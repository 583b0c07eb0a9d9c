/**
 * The calendar_events sink: one multi-row upsert per batch (UNNEST of column arrays),
 * guarded by the appointment's Acme version so an older or equal version never
 * overwrites a newer one; and the re-enrichment of rows when their contact changes.
 */
import type { CalendarRow, CalendarStatus } from '../../transforms/calendar.js';
import { newestPerKey } from '../../transforms/versions.js';
import type { Queryable } from './contacts.js';

export type { Queryable };

/** [column, SQL array type, value of a row] — the one place the row ↔ column mapping lives. */
const COLUMNS: readonly [string, string, (r: CalendarRow) => unknown][] = [
  ['tenant_id', 'text', (r) => r.tenantId],
  ['acme_appointment_id', 'text', (r) => r.acmeAppointmentId],
  ['acme_version', 'bigint', (r) => r.acmeVersion],
  ['user_id', 'text', (r) => r.userId],
  ['acme_owner_user_id', 'text', (r) => r.acmeOwnerUserId],
  ['acme_contact_id', 'text', (r) => r.acmeContactId],
  ['title', 'text', (r) => r.title],
  ['acme_title', 'text', (r) => r.acmeTitle],
  ['starts_at', 'timestamptz', (r) => iso(r.startsAt)],
  ['ends_at', 'timestamptz', (r) => iso(r.endsAt)],
  ['time_zone', 'text', (r) => r.timeZone],
  ['location', 'text', (r) => r.location],
  ['status', 'text', (r) => r.status],
  ['customer_name', 'text', (r) => r.customerName],
  ['customer_email', 'text', (r) => r.customerEmail],
  ['customer_phone', 'text', (r) => r.customerPhone],
  ['customer_company', 'text', (r) => r.customerCompany],
  ['correlation_id', 'text', (r) => r.correlationId],
];
const KEY_COLUMNS = new Set(['tenant_id', 'acme_appointment_id']);
const ALWAYS_NEW = new Set(['acme_version', 'status', 'correlation_id']);

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * A placeholder (a delete without data, starts_at NULL) moves the version and the
 * status but keeps what the row already shows.
 */
const setClause = COLUMNS.filter(([c]) => !KEY_COLUMNS.has(c))
  .map(([c]) => (ALWAYS_NEW.has(c) ? `${c} = EXCLUDED.${c}` : `${c} = CASE WHEN EXCLUDED.starts_at IS NULL THEN c.${c} ELSE EXCLUDED.${c} END`))
  .join(',\n  ');

/** The stored columns as fromDb reads them, timestamps as epoch ms; `t` is the table alias. */
function returned(t: string): string {
  const ms = (c: string) => `(extract(epoch from ${t}.${c}) * 1000)::float8 AS ${c}`;
  const plain = ['tenant_id', 'acme_appointment_id', 'acme_version', 'user_id', 'acme_owner_user_id', 'acme_contact_id', 'title', 'acme_title', 'time_zone', 'location', 'status',
    'customer_name', 'customer_email', 'customer_phone', 'customer_company', 'correlation_id'];
  return [...plain.map((c) => `${t}.${c}`), ms('starts_at'), ms('ends_at'), ms('updated_at')].join(', ');
}

const UPSERT_CALENDAR = `
INSERT INTO calendar_events AS c (${COLUMNS.map(([c]) => c).join(', ')})
SELECT * FROM UNNEST(${COLUMNS.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')})
ON CONFLICT (tenant_id, acme_appointment_id) DO UPDATE SET
  ${setClause},
  updated_at = now()
WHERE c.acme_version < EXCLUDED.acme_version
RETURNING ${returned('c')}`;

export interface StoredCalendarRow extends CalendarRow {
  /** When our row last changed, epoch ms. */
  updatedAt: number;
}

/** A row this transaction wrote, and whether a subscriber can see the change (issue 14). */
export interface WrittenCalendarRow extends StoredCalendarRow {
  visibleChange: boolean;
}

/**
 * The fields of a calendar output a subscriber sees (src/transforms/calendar.ts
 * toCalendarEventValue): everything but the bookkeeping — acme_version, updated_at and
 * correlation_id change on every write and tell a subscriber nothing new; customer_company
 * is not in the output at all. A new row (no previous one) is always a visible change.
 */
export function visibleOf(row: Readonly<CalendarRow>): string {
  return JSON.stringify([row.userId, row.acmeOwnerUserId, row.title, row.startsAt, row.endsAt, row.timeZone, row.location, row.status, row.customerName, row.customerEmail, row.customerPhone]);
}

/** The previous rows of these keys, locked for the write that follows (so the comparison is with what we overwrite). */
async function lockPrevious(db: Queryable, keys: readonly { tenantId: string; acmeId: string }[]): Promise<Map<string, string>> {
  const { rows } = await db.query<DbRow>(
    `SELECT ${returned('c')} FROM calendar_events c
     WHERE (c.tenant_id, c.acme_appointment_id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))
     ORDER BY c.tenant_id, c.acme_appointment_id
     FOR UPDATE`,
    [keys.map((k) => k.tenantId), keys.map((k) => k.acmeId)],
  );
  return new Map(rows.map((r) => [`${r.tenant_id}\u0000${r.acme_appointment_id}`, visibleOf(fromDb(r))]));
}

/** The written rows as stored, each marked; built in place (no `{ ...row, x }`: V8's slow path, see commit 11c9990). */
function markVisible(previous: ReadonlyMap<string, string>, changed: readonly DbRow[]): WrittenCalendarRow[] {
  return changed.map((r) => {
    const row = fromDb(r) as WrittenCalendarRow;
    row.visibleChange = previous.get(`${row.tenantId}\u0000${row.acmeAppointmentId}`) !== visibleOf(row);
    return row;
  });
}

interface DbRow {
  tenant_id: string;
  acme_appointment_id: string;
  acme_version: string;
  user_id: string | null;
  acme_owner_user_id: string | null;
  acme_contact_id: string | null;
  title: string;
  acme_title: string | null;
  starts_at: number | null;
  ends_at: number | null;
  time_zone: string;
  location: string | null;
  status: CalendarStatus;
  customer_name: string | null;
  customer_email: string | null;
  customer_phone: string | null;
  customer_company: string | null;
  correlation_id: string | null;
  updated_at: number;
}

function fromDb(r: DbRow): StoredCalendarRow {
  return {
    tenantId: r.tenant_id,
    acmeAppointmentId: r.acme_appointment_id,
    acmeVersion: Number(r.acme_version),
    userId: r.user_id,
    acmeOwnerUserId: r.acme_owner_user_id,
    acmeContactId: r.acme_contact_id,
    title: r.title,
    acmeTitle: r.acme_title,
    startsAt: r.starts_at === null ? null : Math.round(r.starts_at),
    endsAt: r.ends_at === null ? null : Math.round(r.ends_at),
    timeZone: r.time_zone,
    location: r.location,
    status: r.status,
    customerName: r.customer_name,
    customerEmail: r.customer_email,
    customerPhone: r.customer_phone,
    customerCompany: r.customer_company,
    correlationId: r.correlation_id,
    updatedAt: Math.round(r.updated_at),
  };
}

/**
 * Upsert the newest version per appointment; returns the rows that changed (as stored),
 * each compared with the row it replaced (`visibleChange`): the previous rows are locked
 * and read first, in key order, so the comparison is with what this write overwrites.
 */
export async function upsertCalendarRows(db: Queryable, rows: readonly CalendarRow[]): Promise<WrittenCalendarRow[]> {
  const batch = newestPerKey(rows, (r) => r.acmeVersion, (r) => r.acmeAppointmentId);
  if (batch.length === 0) return [];
  const previous = await lockPrevious(db, batch.map((r) => ({ tenantId: r.tenantId, acmeId: r.acmeAppointmentId })));
  const { rows: changed } = await db.query<DbRow>(UPSERT_CALENDAR, COLUMNS.map(([, , get]) => batch.map(get)));
  return markVisible(previous, changed);
}

/** The rows showing any of these contacts, locked for the re-enrichment that follows. */
export async function calendarRowsForContacts(db: Queryable, contacts: readonly { tenantId: string; acmeId: string }[]): Promise<StoredCalendarRow[]> {
  if (contacts.length === 0) return [];
  const { rows } = await db.query<DbRow>(
    `SELECT ${returned('c')} FROM calendar_events c
     WHERE (c.tenant_id, c.acme_contact_id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))
     ORDER BY c.tenant_id, c.acme_appointment_id
     FOR UPDATE`,
    [contacts.map((c) => c.tenantId), contacts.map((c) => c.acmeId)],
  );
  return rows.map(fromDb);
}

/** Write re-enriched customer fields and titles (the appointment's version is unchanged); `visibleChange` as upsertCalendarRows. */
export async function updateCalendarCustomers(db: Queryable, rows: readonly CalendarRow[]): Promise<WrittenCalendarRow[]> {
  if (rows.length === 0) return [];
  const previous = await lockPrevious(db, rows.map((r) => ({ tenantId: r.tenantId, acmeId: r.acmeAppointmentId })));
  const { rows: changed } = await db.query<DbRow>(
    `UPDATE calendar_events c SET title = u.title, customer_name = u.customer_name, customer_email = u.customer_email,
       customer_phone = u.customer_phone, customer_company = u.customer_company, updated_at = now()
     FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
       AS u (tenant_id, acme_appointment_id, acme_version, title, customer_name, customer_email, customer_phone, customer_company)
     WHERE c.tenant_id = u.tenant_id AND c.acme_appointment_id = u.acme_appointment_id AND c.acme_version = u.acme_version
     RETURNING ${returned('c')}`,
    [
      rows.map((r) => r.tenantId), rows.map((r) => r.acmeAppointmentId), rows.map((r) => r.acmeVersion), rows.map((r) => r.title),
      rows.map((r) => r.customerName), rows.map((r) => r.customerEmail), rows.map((r) => r.customerPhone), rows.map((r) => r.customerCompany),
    ],
  );
  return markVisible(previous, changed);
}

/** Calendar rows by Acme appointment ID (the write-back flow compares changes with them and re-publishes them). */
export async function readCalendarRows(db: Queryable, keys: readonly { tenantId: string; acmeId: string }[]): Promise<StoredCalendarRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<DbRow>(
    `SELECT ${returned('c')} FROM calendar_events c
     WHERE (c.tenant_id, c.acme_appointment_id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))`,
    [keys.map((k) => k.tenantId), keys.map((k) => k.acmeId)],
  );
  return rows.map(fromDb);
}

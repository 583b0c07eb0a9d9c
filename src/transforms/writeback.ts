/**
 * Two-way calendar sync, the pure part (issue 15): a calendar change (calendar.changes.v1)
 * → the Acme PATCH it stands for, the If-Match to send, whether it is only an echo of
 * Acme's own state, who wins a conflict, and the idempotency keys. No I/O.
 */
import type { AppointmentPatch } from '../acme/client.js';
import { ValidationError } from '../errors/index.js';
import { isValidTimeZone, type ConflictPolicy, type TenantSettings } from '../tenants/types.js';

export const CHANGED_FIELDS = ['TITLE', 'STARTS_AT', 'ENDS_AT', 'TIME_ZONE', 'LOCATION', 'STATUS'] as const;
export type ChangedField = (typeof CHANGED_FIELDS)[number];

/** A decoded calendar.changes.v1 value (schemas/avro/calendar-change.avsc). */
export interface CalendarChange {
  change_id: string;
  tenant_id: string;
  acme_id: string;
  calendar_version: number;
  base_acme_version: number | null;
  changed_at: number;
  changed_by: string;
  changed_fields: string[];
  title: string | null;
  starts_at: number | null;
  ends_at: number | null;
  time_zone: string | null;
  location: string | null;
  status: 'ACTIVE' | 'CANCELLED' | 'UNKNOWN' | null;
  correlation_id: string | null;
}

/** What we recorded per Acme appointment (table writeback_state). */
export interface WritebackState {
  lastChangeId: string;
  lastCalendarVersion: number;
  /** Every Acme version in (chainBase, acmeVersion] is ours (or overridden by us). */
  chainBase: number | null;
  acmeVersion: number | null;
}

/** The Acme-side values a change is compared with (our calendar row, Acme's own title). */
export interface KnownAcmeValues {
  acmeVersion: number;
  title: string | null;
  startsAt: number | null;
  endsAt: number | null;
  timeZone: string;
  location: string | null;
  status: 'ACTIVE' | 'CANCELLED';
}

/** Which tenant switch governs each field (settings.writeback.fields). */
const FIELD_SWITCH: Readonly<Record<ChangedField, keyof TenantSettings['writeback']['fields']>> = {
  TITLE: 'title',
  STARTS_AT: 'time',
  ENDS_AT: 'time',
  TIME_ZONE: 'time',
  LOCATION: 'location',
  STATUS: 'status',
};

const isKnownField = (f: string): f is ChangedField => (CHANGED_FIELDS as readonly string[]).includes(f);
const iso = (ms: number): string => new Date(ms).toISOString();

/** A change that cannot mean anything to Acme (DLQ at stage validate), else undefined. */
export function validateChange(c: Readonly<CalendarChange>): ValidationError | undefined {
  const fail = (why: string) => new ValidationError(`Calendar change ${c.change_id} for ${c.acme_id}: ${why}`, { stage: 'validate', context: { tenantId: c.tenant_id, acmeId: c.acme_id, changeId: c.change_id } });
  if (!/^apt_[A-Za-z0-9_-]{1,100}$/.test(c.acme_id)) return fail('acme_id is not an Acme appointment ID');
  // It becomes part of Acme's Idempotency-Key: visible ASCII only (draft-ietf-httpapi-idempotency-key-header).
  if (!/^[\x21-\x7e]{1,200}$/.test(c.change_id)) return fail('change_id must be 1-200 visible ASCII characters');
  if (!Number.isSafeInteger(c.calendar_version) || c.calendar_version < 0) return fail('calendar_version must be a non-negative integer');
  const fields = new Set(c.changed_fields.filter(isKnownField));
  if (fields.has('TITLE') && (c.title === null || c.title.trim() === '' || c.title.length > 500)) return fail('TITLE changed without a title of 1-500 characters');
  if (fields.has('STARTS_AT') && c.starts_at === null) return fail('STARTS_AT changed without starts_at');
  if (fields.has('ENDS_AT') && c.ends_at === null) return fail('ENDS_AT changed without ends_at');
  if (fields.has('TIME_ZONE') && (c.time_zone === null || !isValidTimeZone(c.time_zone))) return fail('TIME_ZONE changed without an IANA time zone');
  if (fields.has('LOCATION') && c.location !== null && c.location.length > 500) return fail('location is longer than 500 characters');
  if (fields.has('STATUS') && c.status !== 'ACTIVE' && c.status !== 'CANCELLED') return fail('STATUS changed without ACTIVE or CANCELLED');
  return undefined;
}

/**
 * The PATCH body for the fields this tenant writes back; empty when none. Unknown
 * (future) field names are ignored, as BACKWARD evolution of the enum requires.
 */
export function toAcmePatch(c: Readonly<CalendarChange>, fields: TenantSettings['writeback']['fields']): AppointmentPatch {
  const patch: AppointmentPatch = {};
  for (const f of new Set(c.changed_fields)) {
    if (!isKnownField(f) || !fields[FIELD_SWITCH[f]]) continue;
    if (f === 'TITLE') patch.title = c.title!;
    if (f === 'STARTS_AT') patch.starts_at = iso(c.starts_at!);
    if (f === 'ENDS_AT') patch.ends_at = iso(c.ends_at!);
    if (f === 'TIME_ZONE') patch.time_zone = c.time_zone!;
    if (f === 'LOCATION') patch.location = c.location;
    if (f === 'STATUS') patch.status = c.status === 'CANCELLED' ? 'cancelled' : 'scheduled';
  }
  return patch;
}

/** The patch's fields, in the calendar's words, for the conflict record. */
export function patchFields(patch: AppointmentPatch): string[] {
  return Object.keys(patch).sort();
}

/** A change at or below the last applied calendar version (a re-publish, or out of order). */
export function isAlreadyHandled(c: Readonly<CalendarChange>, state: WritebackState | undefined): 'duplicate' | 'stale' | undefined {
  if (state === undefined) return undefined;
  if (c.change_id === state.lastChangeId) return 'duplicate';
  return c.calendar_version <= state.lastCalendarVersion ? 'stale' : undefined;
}

/**
 * The version to send as If-Match. A base inside our chain of writes means the calendar
 * edited a state we produced (it had not seen the echo yet): send our latest version.
 * No base: the latest we know (our last write, else our calendar row).
 */
export function ifMatchFor(c: Readonly<CalendarChange>, state: WritebackState | undefined, known: KnownAcmeValues | undefined): number | undefined {
  const ours = state?.acmeVersion ?? null;
  const base = c.base_acme_version;
  if (base === null) return ours ?? known?.acmeVersion;
  if (ours !== null && state!.chainBase !== null && base >= state!.chainBase && base <= ours) return ours;
  return base;
}

/**
 * Is this change only Acme's current state coming back (a calendar that re-publishes
 * what it received from us)? True when the version it is based on is the one we know
 * and every value it would write is already Acme's: writing it would change nothing
 * but the version, and its webhook would bounce around the loop.
 */
export function isEcho(patch: AppointmentPatch, ifMatch: number | undefined, known: KnownAcmeValues | undefined): boolean {
  if (known === undefined || ifMatch === undefined || known.acmeVersion !== ifMatch) return false;
  const same: Record<keyof AppointmentPatch, () => boolean> = {
    title: () => patch.title === known.title,
    starts_at: () => known.startsAt !== null && patch.starts_at === iso(known.startsAt),
    ends_at: () => known.endsAt !== null && patch.ends_at === iso(known.endsAt),
    time_zone: () => patch.time_zone === known.timeZone,
    location: () => (patch.location ?? null) === known.location,
    status: () => (patch.status === 'cancelled') === (known.status === 'CANCELLED'),
  };
  return (Object.keys(patch) as (keyof AppointmentPatch)[]).every((k) => same[k]());
}

/** Who wins a conflict under the tenant's policy; newest-wins compares edit times (ties: Acme). */
export function conflictWinner(policy: ConflictPolicy, calendarChangedAt: number, acmeUpdatedAt: number | null, acmeDeleted: boolean): 'acme' | 'calendar' {
  if (acmeDeleted) return 'acme'; // a deleted appointment cannot be edited back to life
  if (policy === 'acme-wins') return 'acme';
  if (policy === 'calendar-wins') return 'calendar';
  return acmeUpdatedAt !== null && acmeUpdatedAt >= calendarChangedAt ? 'acme' : 'calendar';
}

/**
 * Idempotency keys derived from the change ID: a retry of the same write (after a
 * timeout, a crash, a batch retry) carries the same key and is applied at most once.
 * The override of a conflict names the Acme version it overrides, so it is a new write.
 */
export function idempotencyKeyFor(changeId: string, override?: number): string {
  return override === undefined ? `acme-sync.wb.${changeId}` : `acme-sync.wb.${changeId}.over.${override}`;
}

/**
 * The state after a write acknowledged at `ackVersion`. `sentIfMatch` is the If-Match of
 * the change's first attempt (the calendar's view): after a calendar-wins override too, so
 * the Acme version we overrode joins the chain and the calendar's next edit is no conflict.
 */
export function stateAfterWrite(c: Readonly<CalendarChange>, before: WritebackState | undefined, sentIfMatch: number | undefined, ackVersion: number): WritebackState {
  const inChain = before?.acmeVersion != null && before.chainBase !== null && sentIfMatch === before.acmeVersion;
  return {
    lastChangeId: c.change_id,
    lastCalendarVersion: c.calendar_version,
    chainBase: inChain ? before!.chainBase : (sentIfMatch ?? ackVersion - 1),
    acmeVersion: ackVersion,
  };
}

/** The state after a change that wrote nothing (echo, fields not synced, Acme won). */
export function stateAfterSkip(c: Readonly<CalendarChange>, before: WritebackState | undefined): WritebackState {
  return { lastChangeId: c.change_id, lastCalendarVersion: c.calendar_version, chainBase: before?.chainBase ?? null, acmeVersion: before?.acmeVersion ?? null };
}

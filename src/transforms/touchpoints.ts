/**
 * Activity events become touch-point facts: which user, local day and channel one
 * Acme activity counts on, at which version. Counts are derived from facts in the
 * sink (never blind increments), so a duplicate, a move or a delete stays exact.
 *
 * Pure: no I/O, no clock; the user's time zone is looked up by the caller and passed
 * in; the input is never mutated.
 */
import { newestPerKey } from './versions.js';
import { ValidationError } from '../errors/index.js';
import { activityViolation } from '../contract/events.js';
import { isValidTimeZone, type TenantSettings } from '../tenants/types.js';
import type { AcmeActivityEvent } from './types.js';

export const CHANNELS = ['EMAIL', 'PHONE'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The latest known state of one Acme activity, as far as counting goes. */
export interface ActivityFact {
  tenantId: string;
  acmeId: string;
  version: number;
  acmeUserId: string | null;
  /** null: a type the tenant does not count (meeting, note, ...). */
  channel: Channel | null;
  /** Local date `YYYY-MM-DD` of occurred_at in the user's time zone. */
  day: string | null;
  deleted: boolean;
}

/** What one fact adds to the counts: its (user, day, channel), or nothing. */
export interface CountedSlot {
  tenantId: string;
  acmeUserId: string;
  day: string;
  channel: Channel;
}

export interface FactContext {
  settings: Pick<TenantSettings, 'touchpointTypes'>;
  /** IANA zone of the user who logged the activity (see {@link pickTimeZone}). */
  timeZone: string;
}

/** The tenant's mapping of Acme activity types to channels; types are compared case-insensitively. */
export function channelOf(activityType: string | null, settings: Pick<TenantSettings, 'touchpointTypes'>): Channel | null {
  if (activityType === null) return null;
  const type = activityType.trim().toLowerCase();
  const has = (types: readonly string[]) => types.some((t) => t.trim().toLowerCase() === type);
  if (has(settings.touchpointTypes.email)) return 'EMAIL';
  if (has(settings.touchpointTypes.phone)) return 'PHONE';
  return null;
}

/** The user's own zone when Acme gives a valid one, else the tenant's default. */
export function pickTimeZone(userTimeZone: string | null | undefined, defaultTimeZone: string): string {
  return userTimeZone && isValidTimeZone(userTimeZone) ? userTimeZone : defaultTimeZone;
}

const DAY_FORMATS = new Map<string, Intl.DateTimeFormat>();

function dayFormat(timeZone: string): Intl.DateTimeFormat {
  let format = DAY_FORMATS.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', calendar: 'gregory', numberingSystem: 'latn' });
    DAY_FORMATS.set(timeZone, format);
  }
  return format;
}

/** The local calendar date (`YYYY-MM-DD`) of an instant in a time zone, or null when not representable. */
export function localDay(epochMs: number, timeZone: string): string | null {
  if (!Number.isFinite(epochMs) || Math.abs(epochMs) > 8.64e15) return null;
  const parts = dayFormat(timeZone).formatToParts(epochMs);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const day = `${part('year')}-${part('month')}-${part('day')}`;
  return DAY_PATTERN.test(day) ? day : null;
}

export const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const MS_PER_DAY = 86_400_000;

/** A real calendar date `YYYY-MM-DD` (2026-02-30 is not)? */
export function isDay(value: string): boolean {
  if (!DAY_PATTERN.test(value)) return false;
  const ms = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
}

/** Avro `date`: days since 1970-01-01. */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / MS_PER_DAY);
}

export function dayFromNumber(days: number): string {
  return new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
}

function invalid(event: Readonly<AcmeActivityEvent>, field: string, message: string): ValidationError {
  return new ValidationError(`activity.${field}: ${message}`, {
    stage: 'validate',
    context: { field, tenantId: event.tenant_id, acmeId: event.acme_id, acmeVersion: event.acme_version },
  });
}

/**
 * One activity event → its fact. A counted type (EMAIL/PHONE) needs a user and an
 * occurred_at, else a ValidationError (stage validate) sends it to the DLQ. Types the
 * tenant does not count and deletes are never refused: they count nothing, and
 * storing them still matters (a delete must win over its late create).
 */
export function toActivityFact(event: Readonly<AcmeActivityEvent>, context: FactContext): ActivityFact {
  if (!Number.isSafeInteger(event.acme_version) || event.acme_version < 1) throw invalid(event, 'acme_version', 'expected a positive integer');
  const broken = activityViolation(event);
  if (broken !== undefined) throw broken;
  const deleted = event.operation === 'DELETE';
  const channel = channelOf(event.activity_type, context.settings);
  const acmeUserId = event.user_id === null || event.user_id.trim() === '' ? null : event.user_id;
  const day = event.occurred_at === null ? null : localDay(event.occurred_at, context.timeZone);
  if (!deleted && channel !== null) {
    if (acmeUserId === null) throw invalid(event, 'user_id', `a counted ${channel} activity needs the Acme user who logged it`);
    if (event.occurred_at === null) throw invalid(event, 'occurred_at', `a counted ${channel} activity needs the time it occurred`);
    if (day === null) throw invalid(event, 'occurred_at', `${event.occurred_at} is not a representable instant`);
  }
  return { tenantId: event.tenant_id, acmeId: event.acme_id, version: event.acme_version, acmeUserId, channel, day, deleted };
}

/** Where a fact counts, or null when it counts nowhere (deleted, uncounted type, incomplete). */
export function countedSlot(fact: Readonly<ActivityFact>): CountedSlot | null {
  if (fact.deleted || fact.channel === null || fact.day === null || fact.acmeUserId === null) return null;
  return { tenantId: fact.tenantId, acmeUserId: fact.acmeUserId, day: fact.day, channel: fact.channel };
}

export function slotKey(slot: CountedSlot): string {
  return `${slot.tenantId}\u0000${slot.acmeUserId}\u0000${slot.day}\u0000${slot.channel}`;
}

export interface SlotDelta extends CountedSlot {
  delta: number;
}

/**
 * The change to the counts when `next` replaces `previous` (either may be absent):
 * −1 where the old version counted, +1 where the new one counts, summed per slot.
 * Slots whose changes cancel out are left out.
 */
export function countDeltas(changes: readonly { previous: ActivityFact | null; next: ActivityFact }[]): SlotDelta[] {
  const sums = new Map<string, SlotDelta>();
  const add = (slot: CountedSlot | null, delta: number) => {
    if (slot === null) return;
    const key = slotKey(slot);
    const current = sums.get(key);
    if (current !== undefined) current.delta += delta;
    else sums.set(key, { tenantId: slot.tenantId, acmeUserId: slot.acmeUserId, day: slot.day, channel: slot.channel, delta });
  };
  for (const { previous, next } of changes) {
    add(previous && countedSlot(previous), -1);
    add(countedSlot(next), +1);
  }
  return [...sums.values()].filter((d) => d.delta !== 0);
}

/** The newest version per (tenant, Acme ID); an older or equal version of one ID loses. */
export function newestFacts(facts: readonly ActivityFact[]): ActivityFact[] {
  return newestPerKey(facts, (f) => f.version);
}

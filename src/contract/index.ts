/**
 * The validation contract: what a value from Acme may be, stated once and used by the
 * edge (src/transforms/acme-to-event.ts, webhooks and polling) and by the consumers'
 * transforms (src/transforms/calendar.ts, touchpoints.ts, contact.ts) on decoded
 * events — so a record that reached a topic some other way (a replay, an older
 * producer) meets the same rules before it reaches PostgreSQL.
 *
 * Every refusal is a {@link ContractViolation}: the field path, the rule broken and a
 * message; {@link violationError} turns it into the ValidationError (code
 * VALIDATION_FAILED, stage validate) that the DLQ records carry.
 *
 * The rules and why:
 *  - text: no NUL (PostgreSQL's text cannot hold U+0000: "invalid byte sequence for
 *    encoding UTF8: 0x00", https://www.postgresql.org/docs/current/datatype-character.html),
 *    no other C0 control character or DEL (line breaks and tabs only where the field is
 *    free text), no lone UTF-16 surrogate (not encodable as UTF-8: it would be stored as
 *    U+FFFD, a silent change), and a length cap per field. Over-long text is REFUSED,
 *    not truncated: a truncated title would be stored as if it were Acme's, the version
 *    guard would then keep it, and nobody would be told; a refusal lands in the DLQ with
 *    the field named, where the customer can shorten it in Acme.
 *  - timestamps: RFC 3339 only (the profile of ISO 8601 Acme's contract names:
 *    `date-time`, https://www.rfc-editor.org/rfc/rfc3339#section-5.6) with a `Z` or
 *    ±hh:mm offset (|offset| ≤ 14:00, the widest in use), a real calendar date, and a
 *    year in 1900–2200: inside what PostgreSQL's timestamptz and JS Date both hold,
 *    and far outside any appointment or call. `Date.parse` is never used on Acme's text:
 *    it accepts RFC 2822 and local-time forms ("Tue, 01 Dec 2026 10:00:00" was read as
 *    server-local time).
 *  - durations: whole seconds, 0 to 7 days.
 *  - IDs: 1–64 characters of [A-Za-z0-9_-] (Acme's IDs are a prefix and a token), so an
 *    ID is safe in a URL path, a Kafka key and a log line; a 200 KB "ID" is refused at
 *    the edge instead of being sent to Acme's API.
 *  - time zones: an IANA name of at most 64 characters that Intl knows.
 */
import { ValidationError } from '../errors/index.js';
import { isValidTimeZone } from '../tenants/types.js';

export type ContractRule = 'type' | 'required' | 'control_character' | 'surrogate' | 'too_long' | 'format' | 'range' | 'charset' | 'empty';

export interface ContractViolation {
  /** Dotted path of the field, e.g. `appointment.starts_at`. */
  path: string;
  rule: ContractRule;
  message: string;
}

/** Length caps, in UTF-16 code units (what JS and the Avro strings count). */
export const LIMITS = {
  id: 64,
  title: 2_000,
  location: 2_000,
  subject: 2_000,
  name: 200,
  company: 300,
  email: 320,
  phone: 64,
  timeZone: 64,
  code: 64,
} as const;

export const MIN_YEAR = 1900;
export const MAX_YEAR = 2200;
export const MAX_DURATION_SECONDS = 7 * 86_400;
export const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** C0 controls and DEL; `multiline` allows TAB, LF and CR. */
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export type Checked<T> = { ok: true; value: T } | { ok: false; violation: ContractViolation };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const refuse = (path: string, rule: ContractRule, message: string): Checked<never> => ({ ok: false, violation: { path, rule, message: `${path}: ${message}` } });

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

export interface TextRule {
  max: number;
  /** Free text: TAB, LF and CR allowed. */
  multiline?: boolean;
}

/** Optional text: null/undefined → null; otherwise the string itself or a violation. */
export function checkText(value: unknown, path: string, rule: TextRule): Checked<string | null> {
  if (value === null || value === undefined) return ok(null);
  if (typeof value !== 'string') return refuse(path, 'type', `expected a string, got ${describe(value)}`);
  return checkString(value, path, rule);
}

export function checkString(value: string, path: string, rule: TextRule): Checked<string> {
  if (value.length > rule.max) return refuse(path, 'too_long', `${value.length} characters, at most ${rule.max}`);
  const control = (rule.multiline ? CONTROL_EXCEPT_WHITESPACE : CONTROL).exec(value);
  if (control !== null) return refuse(path, 'control_character', `control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()} at ${control.index}`);
  const surrogate = LONE_SURROGATE.exec(value);
  if (surrogate !== null) return refuse(path, 'surrogate', `unpaired UTF-16 surrogate at ${surrogate.index}`);
  return ok(value);
}

/** An Acme ID: required, 1–64 of [A-Za-z0-9_-], with the type's prefix when given. */
export function checkId(value: unknown, path: string, prefix?: string): Checked<string> {
  if (typeof value !== 'string') return refuse(path, value === undefined || value === null ? 'required' : 'type', `expected an ID string, got ${describe(value)}`);
  if (value === '') return refuse(path, 'empty', 'expected a non-empty ID');
  if (value.length > LIMITS.id) return refuse(path, 'too_long', `${value.length} characters, an ID has at most ${LIMITS.id}`);
  if (!ID_PATTERN.test(value)) return refuse(path, 'charset', 'an ID has only the characters A-Z a-z 0-9 _ -');
  if (prefix !== undefined && !value.startsWith(prefix)) return refuse(path, 'format', `expected an ID starting with ${prefix}`);
  return ok(value);
}

/** Optional ID (a reference such as contact_id). */
export function checkOptionalId(value: unknown, path: string): Checked<string | null> {
  return value === null || value === undefined ? ok(null) : checkId(value, path);
}

// RFC 3339 date-time: full-date "T" full-time; fractions of any length (we keep ms).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** An RFC 3339 timestamp → epoch ms, or a violation naming what is wrong with it. */
export function checkInstant(value: unknown, path: string): Checked<number> {
  if (typeof value !== 'string') return refuse(path, value === undefined || value === null ? 'required' : 'type', `expected an RFC 3339 timestamp string, got ${describe(value)}`);
  if (value.length > 40) return refuse(path, 'too_long', 'not an RFC 3339 timestamp (too long)');
  const m = RFC3339.exec(value);
  if (m === null) return refuse(path, 'format', `${JSON.stringify(value)} is not an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm))`);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (year < MIN_YEAR || year > MAX_YEAR) return refuse(path, 'range', `year ${year} is outside ${MIN_YEAR}–${MAX_YEAR}`);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return refuse(path, 'range', `${m[1]}-${m[2]}-${m[3]} is not a calendar date`);
  // 60 is a leap second (RFC 3339 §5.7); we fold it into the next second as JS does not have one.
  if (hour > 23 || minute > 59 || second > 60) return refuse(path, 'range', `${m[4]}:${m[5]}:${m[6]} is not a time of day`);
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (om > 59 || oh * 60 + om > 14 * 60) return refuse(path, 'range', `offset ${m[9]}${m[10]}:${m[11]} is outside ±14:00`);
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  return ok(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000);
}

export function checkOptionalInstant(value: unknown, path: string): Checked<number | null> {
  return value === null || value === undefined ? ok(null) : checkInstant(value, path);
}

/** The epoch-ms range a decoded event's instant may hold (same years as the text rule, UTC). */
export const MIN_EPOCH_MS = Date.UTC(MIN_YEAR - 1, 11, 31, 10);
export const MAX_EPOCH_MS = Date.UTC(MAX_YEAR + 1, 0, 1, 14);

/** An instant already in epoch ms (a decoded Avro long): within the contract's range. */
export function checkEpochMs(value: number | null, path: string): Checked<number | null> {
  if (value === null) return ok(null);
  if (!Number.isSafeInteger(value)) return refuse(path, 'type', 'expected whole epoch milliseconds');
  if (value < MIN_EPOCH_MS || value > MAX_EPOCH_MS) return refuse(path, 'range', `${value} ms is outside the years ${MIN_YEAR}–${MAX_YEAR}`);
  return ok(value);
}

/** Optional duration in whole seconds, 0 … 7 days. */
export function checkDuration(value: unknown, path: string): Checked<number | null> {
  if (value === null || value === undefined) return ok(null);
  if (typeof value !== 'number' || !Number.isInteger(value)) return refuse(path, 'type', `expected whole seconds, got ${typeof value === 'number' ? value : describe(value)}`);
  if (value < 0) return refuse(path, 'range', `${value} is negative`);
  if (value > MAX_DURATION_SECONDS) return refuse(path, 'range', `${value} s is longer than ${MAX_DURATION_SECONDS} s`);
  return ok(value);
}

/** Optional IANA time zone name. */
export function checkTimeZone(value: unknown, path: string): Checked<string | null> {
  const text = checkText(value, path, { max: LIMITS.timeZone });
  if (!text.ok || text.value === null) return text;
  return isValidTimeZone(text.value) ? text : refuse(path, 'format', `${JSON.stringify(text.value)} is not a supported IANA time zone`);
}

/** A version: a positive safe integer. */
export function checkVersion(value: unknown, path: string): Checked<number> {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return refuse(path, value === undefined || value === null ? 'required' : 'type', `expected a positive integer, got ${describe(value)}`);
  return value >= 1 ? ok(value) : refuse(path, 'range', `${value} is not positive`);
}

/** The ValidationError a refusal becomes (what the DLQ headers and the edge's answers carry). */
export function violationError(v: ContractViolation, context: Record<string, string | number | null> = {}): ValidationError {
  return new ValidationError(v.message, { stage: 'validate', context: { ...context, field: v.path, rule: v.rule } });
}

/**
 * Collects checks of one object: `take` returns the value, or the fallback after
 * remembering the first violation; `error()` is the first refusal, if any.
 */
export function createChecker(context: Record<string, string | number | null> = {}) {
  let first: ContractViolation | undefined;
  return {
    take<T>(checked: Checked<T>, fallback: T): T {
      if (checked.ok) return checked.value;
      first ??= checked.violation;
      return fallback;
    },
    get violation(): ContractViolation | undefined {
      return first;
    },
    error(): ValidationError | undefined {
      return first === undefined ? undefined : violationError(first, context);
    },
  };
}

/**
 * fast-check generators of hostile Acme data, shared by the contract's property tests
 * (test/contract) and the fuzz drill (drills/fuzz.ts): the whole value space a JSON
 * field can hold — unicode edge cases and control characters, huge and empty strings,
 * extreme and malformed dates, wrong types, nulls, unknown references, deep nesting —
 * mixed with well-formed values so records also get through.
 */
import fc from 'fast-check';

/** Every C0 control character and DEL. */
export const CONTROL_CHARS = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\u007f'];

export const controlChar = fc.constantFrom(...CONTROL_CHARS);

/** A string with a control character somewhere in it. */
export const withControlChar = fc.tuple(fc.string({ maxLength: 20 }), controlChar, fc.string({ maxLength: 20 })).map(([a, c, b]) => a + c + b);

/** Strings PostgreSQL or UTF-8 cannot hold as given. */
export const unstorableString = fc.oneof(
  withControlChar,
  fc.constantFrom('\ud800', 'a\udc00b', 'x\ud83d'), // lone surrogates
);

export const hugeString = fc.integer({ min: 2_001, max: 200_000 }).map((n) => 'x'.repeat(n));

export const unicodeString = fc.string({ unit: 'grapheme', maxLength: 40 });

export const anyString = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 6, arbitrary: unicodeString },
  { weight: 2, arbitrary: unstorableString },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);

/** Valid RFC 3339 timestamps in the contract's range. */
export const goodInstant = fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());

/** Dates outside 1900–2200, at every extreme JS and PostgreSQL know, with and without offsets. */
export const extremeInstant = fc.oneof(
  fc.constantFrom('+275760-09-13T00:00:00Z', '-271821-04-20T00:00:00Z', '0001-01-01T00:00:00+15:00', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59-14:00', '1899-12-31T23:59:59Z', '2201-01-01T00:00:00Z'),
  fc.date({ noInvalidDate: true }).filter((d) => d.getUTCFullYear() < 1900 || d.getUTCFullYear() > 2200).map((d) => d.toISOString()),
);

/** Date text that is not RFC 3339: RFC 2822, local time, dates only, garbage. */
export const malformedInstant = fc.oneof(
  goodInstant.map((s) => new Date(s).toUTCString()),
  goodInstant.map((s) => new Date(s).toUTCString().replace(' GMT', '')), // "Tue, 01 Dec 2026 10:00:00": read as server-local time
  goodInstant.map((s) => s.slice(0, 19)), // no offset: local time
  goodInstant.map((s) => s.slice(0, 10)),
  fc.constantFrom('2026-02-30T10:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T10:00:00+14:30', 'now', 'tomorrow', '1700000000000'),
  fc.string({ maxLength: 30 }),
);

export const anyInstant = fc.oneof({ weight: 12, arbitrary: goodInstant }, { weight: 1, arbitrary: extremeInstant }, { weight: 1, arbitrary: malformedInstant });

/** Wrong types and deep nesting for any field. */
export const wrongType = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.anything({ maxDepth: 3 }), { maxLength: 3 }), fc.anything({ maxDepth: 6 }));

/** A field: usually well-formed, often hostile. */
export function field<T>(good: fc.Arbitrary<T>, hostile: fc.Arbitrary<unknown> = fc.oneof(anyString, wrongType)): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 8, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostile });
}

const token = fc.stringMatching(/^[a-z0-9]{6,12}$/);
export const idOf = (prefix: string) => token.map((t) => `${prefix}${t}`);

/** IDs that break the contract: huge, empty, odd characters, missing prefix. */
export const badId = fc.oneof(fc.constant(''), fc.integer({ min: 65, max: 200_000 }).map((n) => `apt_${'a'.repeat(n)}`), withControlChar, fc.constantFrom('apt_../../admin', 'apt_ x', 'apt_%00', 'apt_é'));

export const duration = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 7_200 }) }, { weight: 1, arbitrary: fc.integer({ min: -1_000_000, max: -1 }) }, { weight: 1, arbitrary: fc.integer({ min: 604_801, max: 2 ** 31 }) }, { weight: 1, arbitrary: fc.double() });

export interface HostileOptions {
  /** IDs of contacts Acme knows, and of users. */
  contactIds: fc.Arbitrary<string>;
  userIds: fc.Arbitrary<string>;
  /** Version to give (the drill gives increasing versions). */
  version?: fc.Arbitrary<unknown>;
}

const envelopeFields = (prefix: string, o: HostileOptions) => ({
  id: fc.oneof({ weight: 15, arbitrary: idOf(prefix) }, { weight: 1, arbitrary: badId }),
  version: o.version ?? field(fc.integer({ min: 1, max: 1_000 }), fc.oneof(fc.constant(0), fc.integer({ max: -1 }), fc.double(), fc.string())),
  created_at: anyInstant,
  updated_at: fc.oneof({ weight: 15, arbitrary: goodInstant }, { weight: 1, arbitrary: fc.oneof(extremeInstant, malformedInstant) }),
  deleted_at: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: goodInstant }),
});

export function hostileAppointment(o: HostileOptions) {
  return fc.record({
    ...envelopeFields('apt_', o),
    owner_user_id: field(o.userIds, fc.oneof(badId, wrongType)),
    contact_id: fc.oneof({ weight: 4, arbitrary: o.contactIds }, { weight: 1, arbitrary: idOf('con_unknown_') }, { weight: 1, arbitrary: fc.oneof(badId, wrongType) }),
    title: field(fc.string({ minLength: 1, maxLength: 60 })),
    starts_at: anyInstant,
    ends_at: anyInstant,
    time_zone: field(fc.constantFrom('Europe/Berlin', 'America/New_York', 'UTC', 'Asia/Kolkata'), fc.oneof(fc.constantFrom('Mars/Olympus', 'Etc/GMT+99'), anyString)),
    location: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: anyString }),
    status: fc.oneof(fc.constantFrom('scheduled', 'cancelled', 'completed'), fc.constantFrom('constructor', 'toString', '__proto__', 'hasOwnProperty'), anyString),
  }, { requiredKeys: ['id', 'version', 'updated_at'] });
}

export function hostileContact(o: Omit<HostileOptions, 'contactIds'> & { ids?: fc.Arbitrary<string> }) {
  return fc.record({
    ...envelopeFields('con_', { ...o, contactIds: fc.constant('') }),
    ...(o.ids ? { id: o.ids } : {}),
    first_name: field(fc.string({ maxLength: 20 })),
    last_name: field(fc.string({ maxLength: 20 })),
    email: fc.oneof(fc.constant(null), field(fc.emailAddress())),
    phone: fc.oneof(fc.constant(null), field(fc.stringMatching(/^\+[0-9 ]{6,15}$/))),
    company: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: anyString }),
  }, { requiredKeys: ['id', 'version', 'updated_at'] });
}

export function hostileActivity(o: HostileOptions) {
  return fc.record({
    ...envelopeFields('act_', o),
    type: field(fc.constantFrom('email', 'call', 'meeting', 'note')),
    direction: field(fc.constantFrom('inbound', 'outbound')),
    user_id: field(o.userIds, fc.oneof(badId, wrongType)),
    contact_id: fc.oneof({ weight: 4, arbitrary: o.contactIds }, { weight: 1, arbitrary: idOf('con_unknown_') }, { weight: 1, arbitrary: fc.oneof(badId, wrongType) }),
    subject: field(fc.string({ maxLength: 40 })),
    occurred_at: anyInstant,
    duration_seconds: fc.oneof(fc.constant(null), duration, wrongType),
  }, { requiredKeys: ['id', 'version', 'updated_at'] });
}

/** A webhook body: a valid envelope around a hostile object, or not JSON / not an envelope at all. */
export const malformedBody = fc.oneof(
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
  fc.constantFrom('{', '{"id":', '[]', 'null', '{"id":"evt_1"}').map((s) => Buffer.from(s)),
  fc.nat({ max: 2_000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))), // deep nesting
);

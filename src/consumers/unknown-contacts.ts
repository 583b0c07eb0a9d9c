/**
 * The one rule for records that name a contact (docs/OPERATIONS.md, "Unknown contacts"),
 * shared by the calendar and touch-point flows and mirrored by the sandbox's truth:
 *
 *  - "not in our contacts table" only means we have not seen it yet (contacts travel on
 *    their own topic and may arrive after the appointment or activity that names them):
 *    ask Acme, the source of truth;
 *  - Acme answering 404 means the contact does not exist (Acme keeps deleted contacts,
 *    so this is not a delete): the record is bad data and goes to the DLQ with code
 *    UNKNOWN_CONTACT, stage enrich. It is not written, not counted; the next change of
 *    the record (or a replay after Acme fixed it) brings it back.
 *  - Acme unavailable: transient, the batch is retried (never DLQ'd, never counted).
 *  - appointments are checked on every event, deletes included (a bad appointment never
 *    has a row, as in the truth); activities when live, whatever their type (an
 *    activity's delete counts nothing and must win over its late create).
 */
import type pg from 'pg';
import { ERROR_CODES, PermanentError, isRetriable, toAcmeSyncError, type AcmeSyncError } from '../errors/index.js';
import type { FlowContext } from './runtime/types.js';
import { readContacts } from './sinks/contacts.js';

export function unknownContact(tenantId: string, contactId: string): AcmeSyncError {
  return new PermanentError(`contact_id: Acme does not know contact ${contactId}`, { code: ERROR_CODES.UNKNOWN_CONTACT, stage: 'enrich', context: { tenantId, contactId, field: 'contact_id' } });
}

export function isAcmeNotFound(err: unknown): boolean {
  return !isRetriable(err) && toAcmeSyncError(err, 'enrich').code === ERROR_CODES.ACME_NOT_FOUND;
}

const MAX_KNOWN = 100_000;

export interface ContactCheck {
  /** Undefined when the contact exists (in our table or at Acme); the DLQ error when Acme does not know it. Transient failures throw. */
  check(tenantId: string, contactId: string): Promise<AcmeSyncError | undefined>;
}

/**
 * For flows that only need to know a contact exists (touch-points). Contacts known once
 * stay known (Acme never forgets a contact, it soft-deletes), so positive answers are
 * remembered (bounded); negative ones never are.
 */
export function createContactCheck(ctx: Pick<FlowContext, 'acme'>, pool?: pg.Pool): ContactCheck & { readonly known: Set<string> } {
  const known = new Set<string>();
  const remember = (key: string) => {
    if (known.size >= MAX_KNOWN) known.clear();
    known.add(key);
  };
  return {
    known,
    async check(tenantId, contactId) {
      const key = `${tenantId}\u0000${contactId}`;
      if (known.has(key)) return undefined;
      if (pool !== undefined && (await readContacts(pool, [{ tenantId, acmeId: contactId }])).length > 0) {
        remember(key);
        return undefined;
      }
      try {
        await ctx.acme(tenantId).get('contact', contactId);
        remember(key);
        return undefined;
      } catch (err) {
        if (isAcmeNotFound(err)) return unknownContact(tenantId, contactId);
        throw err;
      }
    },
  };
}

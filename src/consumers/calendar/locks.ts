/**
 * Appointments read contacts and contact changes rewrite appointments' rows, in
 * concurrent transactions (different topics, different partitions). Under READ
 * COMMITTED an appointment could read "no contact yet" while the contact's
 * transaction updates "no rows yet", and the calendar would never show the customer.
 * Transaction-scoped advisory locks per (tenant, contact) serialize the two: readers
 * share, writers of a contact are exclusive. Taken in one statement, in hash order, so
 * two transactions never wait on each other in a cycle.
 */
import { schemaKey } from '../../db/advisory.js';
import type { Queryable } from '../sinks/contacts.js';

export interface ContactLock {
  tenantId: string;
  acmeId: string;
  exclusive: boolean;
}

export async function lockContacts(db: Queryable, locks: readonly ContactLock[]): Promise<void> {
  if (locks.length === 0) return;
  await db.query(
    `SELECT count(*) FROM (
       SELECT CASE WHEN x THEN pg_advisory_xact_lock(h)::text ELSE pg_advisory_xact_lock_shared(h)::text END
       FROM (SELECT ${schemaKey("'calendar-contact:' || k")} AS h, bool_or(x) AS x FROM UNNEST($1::text[], $2::boolean[]) AS u (k, x) GROUP BY 1 ORDER BY 1) s
     ) q`,
    [locks.map((l) => `${l.tenantId}:${l.acmeId}`), locks.map((l) => l.exclusive)],
  );
}

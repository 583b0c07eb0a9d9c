/**
 * The contacts table sink: one multi-row upsert per batch (UNNEST of column arrays),
 * guarded by version so an older or repeated event changes nothing.
 */
import type pg from 'pg';
import type { ContactRow } from '../../transforms/contact.js';
import { newestPerKey } from '../../transforms/versions.js';

export type Queryable = Pick<pg.ClientBase, 'query'>;

const UPSERT_CONTACTS = `
INSERT INTO contacts AS c (tenant_id, acme_id, acme_version, first_name, last_name, email, phone, company, deleted, acme_updated_at)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[], $10::timestamptz[])
ON CONFLICT (tenant_id, acme_id) DO UPDATE SET
  acme_version = EXCLUDED.acme_version, first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
  email = EXCLUDED.email, phone = EXCLUDED.phone, company = EXCLUDED.company, deleted = EXCLUDED.deleted,
  acme_updated_at = EXCLUDED.acme_updated_at, updated_at = now()
WHERE c.acme_version < EXCLUDED.acme_version
RETURNING tenant_id, acme_id`;

/** Returns the (tenant, Acme ID) pairs that changed. */
export async function upsertContacts(db: Queryable, rows: readonly ContactRow[]): Promise<{ tenantId: string; acmeId: string }[]> {
  const batch = newestPerKey(rows, (r) => r.acmeVersion);
  if (batch.length === 0) return [];
  const { rows: changed } = await db.query<{ tenant_id: string; acme_id: string }>(UPSERT_CONTACTS, [
    batch.map((r) => r.tenantId),
    batch.map((r) => r.acmeId),
    batch.map((r) => r.acmeVersion),
    batch.map((r) => r.firstName),
    batch.map((r) => r.lastName),
    batch.map((r) => r.email),
    batch.map((r) => r.phone),
    batch.map((r) => r.company),
    batch.map((r) => r.deleted),
    batch.map((r) => new Date(r.acmeUpdatedAt).toISOString()),
  ]);
  return changed.map((r) => ({ tenantId: r.tenant_id, acmeId: r.acme_id }));
}

/** The stored contacts for these keys (deleted ones too: a calendar keeps showing who it was with). */
export async function readContacts(db: Queryable, keys: readonly { tenantId: string; acmeId: string }[]): Promise<ContactRow[]> {
  if (keys.length === 0) return [];
  const { rows } = await db.query<{
    tenant_id: string; acme_id: string; acme_version: string; first_name: string | null; last_name: string | null; email: string | null;
    phone: string | null; company: string | null; deleted: boolean; acme_updated_at: number;
  }>(
    // Only the columns a ContactRow holds, the time as epoch ms: parsing three timestamps
    // into Dates per row was a visible share of the calendar flow's CPU (npm run bench).
    `SELECT tenant_id, acme_id, acme_version, first_name, last_name, email, phone, company, deleted,
            (extract(epoch from acme_updated_at) * 1000)::float8 AS acme_updated_at
     FROM contacts WHERE (tenant_id, acme_id) IN (SELECT * FROM UNNEST($1::text[], $2::text[]))`,
    [keys.map((k) => k.tenantId), keys.map((k) => k.acmeId)],
  );
  return rows.map((r) => ({
    tenantId: r.tenant_id, acmeId: r.acme_id, acmeVersion: Number(r.acme_version), firstName: r.first_name, lastName: r.last_name,
    email: r.email, phone: r.phone, company: r.company, deleted: r.deleted, acmeUpdatedAt: r.acme_updated_at,
  }));
}

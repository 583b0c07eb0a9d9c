/**
 * The touch-point sink: activity facts keyed by Acme activity ID, and counts DERIVED
 * from them. For one batch, inside the caller's transaction:
 *
 *  1. claim the batch's IDs (a version-0 placeholder row for IDs never seen, so two
 *     transactions racing on a new ID queue on its row instead of both counting it),
 *  2. lock and read the current facts (`SELECT ... FOR UPDATE`, in key order so
 *     concurrent batches cannot deadlock),
 *  3. keep only versions newer than the stored one (older or equal → skipped),
 *  4. upsert those facts, and apply the summed count deltas (old slot −1, new slot +1)
 *     to `touchpoint_counts` in one multi-row statement.
 *
 * Idempotent on its own by version: a redelivered batch finds every version already
 * stored and changes nothing, whatever the offsets say.
 *
 * Lock order: facts then counts, each in key order (tenant first), so concurrent
 * batches of any mix of tenants cannot deadlock. The runner makes one call per batch;
 * a caller making several in one transaction must keep them in that order too, or two
 * transactions can deadlock on shared count rows (PostgreSQL aborts one with 40P01,
 * retriable, and its batch is retried — exact, but a deadlock_timeout slower).
 */
import { countDeltas, newestFacts, type ActivityFact, type Channel, type CountedSlot, type SlotDelta } from '../../transforms/touchpoints.js';
import { countBy } from '../runtime/ledger.js';
import type { Queryable } from './contacts.js';

export type { Queryable };

/** One (user, day, channel) whose count this batch changed, with the count after it. */
export interface ChangedAggregate extends CountedSlot {
  count: number;
  /** The Acme user's email from acme_users, when known (maps to our user). */
  email: string | null;
}

export interface FactsResult {
  /** Facts stored (a newer version than the one before). */
  written: number;
  /** The same, per tenant. */
  writtenByTenant: Map<string, number>;
  /** Facts that changed nothing: older or equal versions, duplicates within the batch. */
  skipped: number;
  changed: ChangedAggregate[];
}

interface FactRow {
  tenant_id: string;
  acme_id: string;
  acme_version: string;
  acme_user_id: string | null;
  channel: Channel | null;
  day: string | null;
  deleted: boolean;
}

const CLAIM_FACTS = `
INSERT INTO activity_facts (tenant_id, acme_id, acme_version, deleted)
SELECT t, a, 0, false FROM UNNEST($1::text[], $2::text[]) AS k(t, a)
ON CONFLICT (tenant_id, acme_id) DO NOTHING`;

const LOCK_FACTS = `
SELECT f.tenant_id, f.acme_id, f.acme_version, f.acme_user_id, f.channel, f.day::text AS day, f.deleted
FROM activity_facts f
JOIN UNNEST($1::text[], $2::text[]) AS k(tenant_id, acme_id) ON f.tenant_id = k.tenant_id AND f.acme_id = k.acme_id
ORDER BY f.tenant_id COLLATE "C", f.acme_id COLLATE "C"
FOR UPDATE OF f`;

const UPSERT_FACTS = `
INSERT INTO activity_facts AS f (tenant_id, acme_id, acme_version, acme_user_id, channel, day, deleted)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::date[], $7::boolean[])
ON CONFLICT (tenant_id, acme_id) DO UPDATE SET
  acme_version = EXCLUDED.acme_version, acme_user_id = EXCLUDED.acme_user_id, channel = EXCLUDED.channel,
  day = EXCLUDED.day, deleted = EXCLUDED.deleted, updated_at = now()
WHERE f.acme_version < EXCLUDED.acme_version`;

/*
 * CHECK (count >= 0) is evaluated on the proposed row before ON CONFLICT, so a −1 cannot
 * travel through INSERT ... ON CONFLICT. Claim the slots (count 0 when new) and lock the
 * existing ones in key order — ON CONFLICT DO UPDATE locks the conflicting row even when
 * its WHERE is false — then add the deltas with one UPDATE.
 */
const CLAIM_COUNTS = `
INSERT INTO touchpoint_counts AS c (tenant_id, acme_user_id, day, channel, count)
SELECT t, u, d, ch, 0 FROM UNNEST($1::text[], $2::text[], $3::date[], $4::text[]) AS k(t, u, d, ch)
ON CONFLICT (tenant_id, acme_user_id, day, channel) DO UPDATE SET count = c.count WHERE false`;

const ADD_COUNTS = `
WITH changed AS (
  UPDATE touchpoint_counts c SET count = c.count + k.delta, updated_at = now()
  FROM UNNEST($1::text[], $2::text[], $3::date[], $4::text[], $5::int[]) AS k(t, u, d, ch, delta)
  WHERE c.tenant_id = k.t AND c.acme_user_id = k.u AND c.day = k.d AND c.channel = k.ch
  RETURNING c.tenant_id, c.acme_user_id, c.day, c.channel, c.count
)
SELECT ch.tenant_id, ch.acme_user_id, ch.day::text AS day, ch.channel, ch.count, au.email
FROM changed ch LEFT JOIN acme_users au ON au.tenant_id = ch.tenant_id AND au.acme_user_id = ch.acme_user_id
ORDER BY ch.tenant_id, ch.acme_user_id, ch.day, ch.channel`;

const factKey = (tenantId: string, acmeId: string) => `${tenantId}\u0000${acmeId}`;
const byFactKey = (a: ActivityFact, b: ActivityFact) => (a.tenantId === b.tenantId ? compare(a.acmeId, b.acmeId) : compare(a.tenantId, b.tenantId));
/** Byte order, as PostgreSQL's "C" collation would sort; only consistency between transactions matters. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function toFact(row: FactRow): ActivityFact {
  return { tenantId: row.tenant_id, acmeId: row.acme_id, version: Number(row.acme_version), acmeUserId: row.acme_user_id, channel: row.channel, day: row.day, deleted: row.deleted };
}

/**
 * Store a batch of facts and update the counts they change. `db` must be a client
 * inside a transaction (the runner's, which also stores the offsets): the row locks
 * taken here are what keeps concurrent batches exact.
 */
export async function applyActivityFacts(db: Queryable, facts: readonly ActivityFact[]): Promise<FactsResult> {
  const batch = newestFacts(facts).sort(byFactKey);
  if (batch.length === 0) return { written: 0, writtenByTenant: new Map(), skipped: facts.length, changed: [] };
  const ids: [string[], string[]] = [batch.map((f) => f.tenantId), batch.map((f) => f.acmeId)];
  await db.query(CLAIM_FACTS, ids);
  const { rows } = await db.query<FactRow>(LOCK_FACTS, ids);
  const stored = new Map(rows.map((r) => [factKey(r.tenant_id, r.acme_id), toFact(r)]));
  const changes = batch
    .map((next) => ({ previous: stored.get(factKey(next.tenantId, next.acmeId)) ?? null, next }))
    .filter(({ previous, next }) => previous === null || next.version > previous.version);
  if (changes.length === 0) return { written: 0, writtenByTenant: new Map(), skipped: facts.length, changed: [] };
  await upsertFacts(db, changes.map((c) => c.next));
  const changed = await addCounts(db, countDeltas(changes));
  return { written: changes.length, writtenByTenant: countBy(changes, (c) => c.next.tenantId), skipped: facts.length - changes.length, changed };
}

async function upsertFacts(db: Queryable, facts: readonly ActivityFact[]): Promise<void> {
  await db.query(UPSERT_FACTS, [
    facts.map((f) => f.tenantId),
    facts.map((f) => f.acmeId),
    facts.map((f) => f.version),
    facts.map((f) => f.acmeUserId),
    facts.map((f) => f.channel),
    facts.map((f) => f.day),
    facts.map((f) => f.deleted),
  ]);
}

const bySlot = (a: SlotDelta, b: SlotDelta) =>
  compare(a.tenantId, b.tenantId) || compare(a.acmeUserId, b.acmeUserId) || compare(a.day, b.day) || compare(a.channel, b.channel);

async function addCounts(db: Queryable, deltas: readonly SlotDelta[]): Promise<ChangedAggregate[]> {
  if (deltas.length === 0) return [];
  const sorted = [...deltas].sort(bySlot);
  const slots = [sorted.map((d) => d.tenantId), sorted.map((d) => d.acmeUserId), sorted.map((d) => d.day), sorted.map((d) => d.channel)];
  await db.query(CLAIM_COUNTS, slots);
  const { rows } = await db.query<{ tenant_id: string; acme_user_id: string; day: string; channel: Channel; count: number; email: string | null }>(ADD_COUNTS, [
    ...slots,
    sorted.map((d) => d.delta),
  ]);
  return rows.map((r) => ({ tenantId: r.tenant_id, acmeUserId: r.acme_user_id, day: r.day, channel: r.channel, count: r.count, email: r.email }));
}

/** The counts of one tenant's users over a day range (inclusive), for the dashboard and tests. */
export async function readCounts(
  db: Queryable,
  query: { tenantId: string; acmeUserIds: readonly string[]; from: string; to: string },
): Promise<{ acmeUserId: string; day: string; channel: Channel; count: number }[]> {
  const { rows } = await db.query<{ acme_user_id: string; day: string; channel: Channel; count: number }>(
    `SELECT acme_user_id, day::text AS day, channel, count FROM touchpoint_counts
     WHERE tenant_id = $1 AND acme_user_id = ANY($2::text[]) AND day BETWEEN $3::date AND $4::date
     ORDER BY day, channel, acme_user_id`,
    [query.tenantId, query.acmeUserIds, query.from, query.to],
  );
  return rows.map((r) => ({ acmeUserId: r.acme_user_id, day: r.day, channel: r.channel, count: r.count }));
}

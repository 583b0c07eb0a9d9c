/**
 * The contract between the consumer runner (src/consumers/runtime) and a flow
 * (calendar, touch-points). The runner owns Kafka, decoding, the DLQ, retries,
 * offsets and the transaction; a flow owns validation, enrichment and its tables.
 *
 * Life of a batch (one partition):
 *   decode (DecodeError → DLQ) → unknown tenant (→ DLQ) → flow.prepare (reads only;
 *   permanent per-record problems returned for the DLQ; transient errors thrown →
 *   the runner retries the whole batch) → ONE PostgreSQL transaction: lock the
 *   partition's offset row, drop records below it (zombie fencing, kafkajs#1046),
 *   flow.apply, outputs + DLQ records into the outbox table, store next_offset,
 *   COMMIT; the outbox relay publishes them afterwards (src/consumers/runtime/outbox.ts).
 *
 * `apply` may run more than once for the same records (a retry after a transient
 * failure, or a redelivery after a crash before COMMIT): it must be idempotent,
 * which the version guards on every table give us. When PostgreSQL refuses a value
 * (SQLSTATE class 22/23) the runner rolls apply back to a savepoint and calls prepare
 * and apply again on halves of the batch, down to single records (bisection): both
 * must work on any subset of a batch's records, in offset order.
 */
import type { PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { AcmeObjects, AcmeObjectType } from '../../acme/types.js';
import type { AcmeSyncError } from '../../errors/index.js';
import type { TopicKind } from '../../kafka/topics.js';
import type { AcmeUserRecord, Tenant } from '../../tenants/types.js';

export interface InboundRecord<V = unknown> {
  topic: string;
  kind: TopicKind;
  partition: number;
  /** Kafka offset as kafkajs gives it (a decimal string). */
  offset: string;
  key: string | null;
  /** The decoded Avro value (for input topics: the event types of src/transforms/types.ts). */
  value: V;
  schemaId: number;
  headers: Record<string, string>;
  /** Kafka record timestamp, epoch ms. */
  timestamp: number;
  /** The original bytes, kept for the DLQ. */
  raw: Buffer | null;
}

/** A record for an output topic; `value: null` is a tombstone. Encoded by the runner with the topic's schema. */
export interface OutputRecord {
  kind: 'calendar' | 'touchpoints';
  key: string;
  value: Record<string, unknown> | null;
}

export interface DlqEntry {
  record: InboundRecord;
  /** Must carry a stage (validate, enrich, transform, ...): it goes into the DLQ headers. */
  error: AcmeSyncError;
}

/** A count per tenant ID (absent: 0). */
export type PerTenant = ReadonlyMap<string, number>;

export interface FlowOutcome {
  /** Per tenant, records that changed state (written to a table). */
  written: PerTenant;
  /** Per tenant, records that changed nothing: stale or duplicate versions, flows switched off. */
  skipped: PerTenant;
  dlq: DlqEntry[];
  outputs: OutputRecord[];
}

/**
 * Tenants and Acme users, cached per process. `acmeUser` fetches a user not yet in
 * acme_users from Acme (client.get('user')) and stores it via
 * repository.upsertAcmeUsers; it answers undefined when Acme says 404.
 */
export interface TenantDirectory {
  get(tenantId: string): Promise<Tenant | undefined>;
  acmeUser(tenantId: string, acmeUserId: string): Promise<AcmeUserRecord | undefined>;
  /**
   * Loads what is not cached of these tenants and stored Acme users in one query each, so
   * the `get`/`acmeUser` calls of a batch that follow are cache hits. Without it (a test's
   * directory) every miss is a query of its own.
   */
  preload?(keys: { tenantIds?: Iterable<string>; users?: Iterable<{ tenantId: string; acmeUserId: string }> }): Promise<void>;
}

/**
 * What a flow needs of the Acme API client (src/acme/client.ts, AcmeClient is
 * assignable to it): `get` throws PermanentError ACME_NOT_FOUND on 404 and
 * TransientError when Acme is down or rate-limits.
 */
export interface AcmeReader {
  get<T extends AcmeObjectType>(type: T, id: string): Promise<AcmeObjects[T]>;
}

export interface FlowContext {
  now: () => number;
  tenants: TenantDirectory;
  acme: (tenantId: string) => AcmeReader;
  logger: Logger;
}

export interface Flow<P = unknown> {
  /** Consumer group suffix: 'calendar', 'touchpoints'. */
  name: string;
  inputs: readonly TopicKind[];
  /**
   * I/O allowed but no writes: validate, enrich. Records arrive decoded, from ONE
   * topic-partition, of any number of known tenants, in offset order: one call per
   * batch, whatever the tenants (a call per tenant made a batch over 1,000 tenants
   * 1,000 rounds of SQL — found by npm run bench). Per-record permanent problems are
   * returned for the DLQ; transient errors throw (→ the runner retries the batch,
   * never DLQs it); anything else thrown stops the runner (a bug, see runner.ts).
   * The ledger must balance per tenant: apply's written + skipped + prepare's DLQ
   * entries of the tenant === the tenant's records (the runner logs and counts a
   * mismatch).
   */
  prepare(records: readonly InboundRecord[], ctx: FlowContext): Promise<{ ready: P; dlq: DlqEntry[] }>;
  /**
   * Inside the PostgreSQL transaction that also stores the consumed offsets.
   * Throwing rolls everything back (a transient error is retried with the batch).
   * `prepared` covers only records at or above the stored offsets: the runner locks
   * the offset row and fences before it calls `prepare` a second time if needed.
   */
  apply(db: PoolClient, prepared: P, ctx: FlowContext): Promise<Omit<FlowOutcome, 'dlq'>>;
}

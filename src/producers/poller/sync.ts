/**
 * One pass over one Acme collection: follow `next_cursor` from `updated_since` to the end,
 * hand each page to Kafka (or, for users, to the acme_users table) and only then report
 * the page done, so the caller advances its cursor past records that are safely stored.
 * A record that breaks the validation contract (src/contract) never blocks the cursor
 * (that would stop the tenant): with a dead-letter writer it is kept in the DLQ (stage
 * poll, the object as Acme returned it; idempotent, so every re-poll of the same version
 * is the same DLQ record); without one, or when it cannot even be identified (no valid
 * ID or version), it is skipped and counted.
 */
import { randomUUID } from 'node:crypto';
import type { AcmeClient } from '../../acme/client.js';
import type { AcmeObjectType, AcmeObjects, AcmePage, AcmeUser } from '../../acme/types.js';
import { ValidationError } from '../../errors/index.js';
import { checkId, checkVersion } from '../../contract/index.js';
import type { DeadLetterWriter } from '../../dlq/dead-letters.js';
import type { Logger } from '../../logger.js';
import type { TenantRepository } from '../../tenants/repository.js';
import { toOutboundEvent, type OutboundEvent, type PublishableType } from '../../transforms/acme-to-event.js';
import type { Source } from '../../transforms/types.js';
import type { EventPublisher } from '../publisher.js';

export interface PageDone {
  type: AcmeObjectType;
  /** Records stored (published or upserted) from this page. */
  records: number;
  skipped: number;
  /** Records kept in the DLQ (they break the validation contract). */
  deadLettered?: number;
  /** Largest updated_at among the stored records, or null for an empty page. */
  maxUpdatedAt: string | null;
}

export interface SyncResult {
  pages: number;
  records: number;
  skipped: number;
  maxUpdatedAt: string | null;
}

export interface SyncInput {
  client: AcmeClient;
  tenantId: string;
  type: AcmeObjectType;
  /** Inclusive lower bound; null reads the whole collection. */
  since: string | null;
  source: Source;
  publisher: EventPublisher;
  tenants: TenantRepository;
  now?: () => number;
  pageSize?: number;
  correlationId?: string;
  logger?: Logger;
  signal?: AbortSignal;
  /** Called after a page is stored; awaited before the next page is read. */
  onPage?: (page: PageDone) => Promise<void> | void;
  /** Where records that break the validation contract are kept (the DLQ). */
  deadLetters?: DeadLetterWriter;
}

export const DEFAULT_PAGE_SIZE = 100;

function later(a: string | null, b: string): string {
  return a === null || Date.parse(b) > Date.parse(a) ? b : a;
}

const KIND: Readonly<Record<PublishableType, 'appointments' | 'contacts' | 'activities'>> = { appointment: 'appointments', contact: 'contacts', activity: 'activities' };

async function toEvents(input: SyncInput, records: readonly AcmeObjects[PublishableType][]): Promise<{ events: OutboundEvent[]; skipped: number; deadLettered: number; maxUpdatedAt: string | null }> {
  const now = input.now ?? Date.now;
  const events: OutboundEvent[] = [];
  let skipped = 0;
  let deadLettered = 0;
  let maxUpdatedAt: string | null = null;
  for (const record of records) {
    try {
      events.push(toOutboundEvent(input.type as PublishableType, record, {
        tenantId: input.tenantId, source: input.source, receivedAt: now(), eventId: randomUUID(), correlationId: input.correlationId ?? null,
      }));
      maxUpdatedAt = later(maxUpdatedAt, record.updated_at);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const id = checkId((record as { id?: unknown }).id, 'id');
      const version = checkVersion((record as { version?: unknown }).version, 'version');
      if (input.deadLetters !== undefined && id.ok && version.ok) {
        await input.deadLetters.write({
          tenantId: input.tenantId, entity: KIND[input.type as PublishableType], recordId: id.value, version: version.value, acmeId: id.value,
          error: err.atStage('poll'), raw: Buffer.from(JSON.stringify(record)),
        });
        deadLettered++;
      } else {
        skipped++;
        input.logger?.warn({ err, tenantId: input.tenantId, type: input.type }, 'unidentifiable Acme record skipped');
      }
    }
  }
  return { events, skipped, deadLettered, maxUpdatedAt };
}

async function storeUsers(input: SyncInput, users: readonly AcmeUser[]): Promise<PageDone> {
  const valid = users.filter((u) => typeof u.id === 'string' && u.id !== '' && !Number.isNaN(Date.parse(u.updated_at)));
  await input.tenants.upsertAcmeUsers(valid.map((u) => ({ tenantId: input.tenantId, acmeUserId: u.id, email: u.email ?? null, name: u.name ?? null, timeZone: u.time_zone ?? null })));
  const maxUpdatedAt = valid.reduce<string | null>((m, u) => later(m, u.updated_at), null);
  return { type: 'user', records: valid.length, skipped: users.length - valid.length, maxUpdatedAt };
}

async function storePage(input: SyncInput, data: readonly unknown[]): Promise<PageDone> {
  if (input.type === 'user') return storeUsers(input, data as AcmeUser[]);
  const { events, skipped, deadLettered, maxUpdatedAt } = await toEvents(input, data as AcmeObjects[PublishableType][]);
  // Resolves only once Kafka acknowledged every event (acks=all).
  await input.publisher.publish(events);
  return { type: input.type, records: events.length, skipped, deadLettered, maxUpdatedAt };
}

export async function syncCollection(input: SyncInput): Promise<SyncResult> {
  const result: SyncResult = { pages: 0, records: 0, skipped: 0, maxUpdatedAt: null };
  let cursor: string | null = null;
  do {
    input.signal?.throwIfAborted();
    const page: AcmePage<unknown> = await input.client.list(input.type, cursor ? { cursor, limit: input.pageSize ?? DEFAULT_PAGE_SIZE } : { updatedSince: input.since ?? undefined, limit: input.pageSize ?? DEFAULT_PAGE_SIZE });
    const done = await storePage(input, page.data);
    result.pages++;
    result.records += done.records;
    result.skipped += done.skipped;
    if (done.maxUpdatedAt !== null) result.maxUpdatedAt = later(result.maxUpdatedAt, done.maxUpdatedAt);
    await input.onPage?.(done);
    cursor = page.next_cursor;
  } while (cursor);
  return result;
}

/**
 * Dead-letter records: the ORIGINAL key and bytes, with the error's context in headers
 * named like Kafka Connect's DeadLetterQueueReporter (`__connect.errors.*`, KIP-298),
 * under our own prefix. A replay tool reads the headers to route the record back.
 */
import type { OutgoingRecord } from '../../kafka/types.js';
import { schemaIdOf } from '../../registry/index.js';
import type { DlqEntry, InboundRecord } from './types.js';
import type { DlqIndexEntry } from './dlq-index.js';

export const DLQ_HEADER_PREFIX = 'acme-sync.error.';

export const DLQ_HEADERS = {
  topic: `${DLQ_HEADER_PREFIX}topic`,
  partition: `${DLQ_HEADER_PREFIX}partition`,
  offset: `${DLQ_HEADER_PREFIX}offset`,
  key: `${DLQ_HEADER_PREFIX}key`,
  stage: `${DLQ_HEADER_PREFIX}stage`,
  code: `${DLQ_HEADER_PREFIX}code`,
  className: `${DLQ_HEADER_PREFIX}class.name`,
  message: `${DLQ_HEADER_PREFIX}message`,
  tenant: `${DLQ_HEADER_PREFIX}tenant`,
  acmeId: `${DLQ_HEADER_PREFIX}acme.id`,
  schemaId: `${DLQ_HEADER_PREFIX}schema.id`,
  attempts: `${DLQ_HEADER_PREFIX}attempts`,
  consumerGroup: `${DLQ_HEADER_PREFIX}consumer.group`,
  consumerClientId: `${DLQ_HEADER_PREFIX}consumer.client.id`,
  time: `${DLQ_HEADER_PREFIX}time`,
} as const;

export interface DlqMeta {
  groupId: string;
  clientId: string;
  attempts: number;
  now: number;
}

/** Tenant and Acme ID from the decoded value, else from the `tenant:acmeId` key. */
export function identityOf(record: Pick<InboundRecord, 'key' | 'value'>): { tenantId: string; acmeId: string } {
  const value = (record.value ?? {}) as { tenant_id?: unknown; acme_id?: unknown };
  const [keyTenant = '', ...rest] = (record.key ?? '').split(':');
  return {
    tenantId: typeof value.tenant_id === 'string' ? value.tenant_id : keyTenant,
    acmeId: typeof value.acme_id === 'string' ? value.acme_id : rest.join(':'),
  };
}

export function schemaIdOrUnknown(raw: Buffer | null): number {
  try {
    return schemaIdOf(raw);
  } catch {
    return -1;
  }
}

/** Header values are bounded: a message is cut at 1000 characters. */
export function toDlqMessage({ record, error }: DlqEntry, meta: DlqMeta): OutgoingRecord {
  const { tenantId, acmeId } = identityOf(record);
  const headers: Record<string, string> = {
    ...record.headers,
    [DLQ_HEADERS.topic]: record.topic,
    [DLQ_HEADERS.partition]: String(record.partition),
    [DLQ_HEADERS.offset]: record.offset,
    [DLQ_HEADERS.key]: record.key ?? '',
    [DLQ_HEADERS.stage]: error.stage ?? 'transform',
    [DLQ_HEADERS.code]: error.code,
    [DLQ_HEADERS.className]: error.name,
    [DLQ_HEADERS.message]: error.message.slice(0, 1000),
    [DLQ_HEADERS.tenant]: tenantId,
    [DLQ_HEADERS.acmeId]: acmeId,
    [DLQ_HEADERS.schemaId]: String(record.schemaId),
    [DLQ_HEADERS.attempts]: String(meta.attempts),
    [DLQ_HEADERS.consumerGroup]: meta.groupId,
    [DLQ_HEADERS.consumerClientId]: meta.clientId,
    [DLQ_HEADERS.time]: new Date(meta.now).toISOString(),
  };
  return { key: record.key, value: record.raw, headers };
}

/** The DLQ index row of an entry: by Acme ID and version when decoded, else by the record's position. */
export function dlqIndexEntry({ record, error }: DlqEntry, recordedBy: string): DlqIndexEntry {
  const value = record.value as { tenant_id?: unknown; acme_id?: unknown; acme_version?: unknown } | null;
  const { tenantId, acmeId } = identityOf(record);
  const decoded = value !== null && typeof value.acme_id === 'string' && typeof value.acme_version === 'number';
  return {
    tenantId, entity: decoded ? record.kind : 'record', recordId: decoded ? acmeId : `${record.topic}:${record.partition}:${record.offset}`,
    version: decoded ? (value.acme_version as number) : 0, error, sourceTopic: record.topic, sourcePartition: record.partition, sourceOffset: record.offset, recordedBy,
  };
}

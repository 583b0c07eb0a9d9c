/**
 * Stage emit: after COMMIT. Wakes the outbox relay (which publishes the batch's outputs
 * and DLQ records and retries Kafka failures itself — never a DLQ, never fatal), then
 * reports the batch: record outcomes, DLQ records, end-to-end latency and freshness.
 */
import type { Logger } from '../../../logger.js';
import type { TopicKind } from '../../../kafka/index.js';
import type { SyncedEvent, createFreshnessMetrics } from '../../../metrics/freshness.js';
import type { ConsumerMetrics } from '../metrics.js';
import type { OutboxRelay } from '../outbox.js';
import type { InboundRecord } from '../types.js';
import type { BatchOutcome } from './apply.js';

export interface EmitDeps {
  flow: string;
  relay: OutboxRelay;
  metrics: ConsumerMetrics;
  freshness: ReturnType<typeof createFreshnessMetrics>;
  log: Logger;
  now: () => number;
}

export function emit(deps: EmitDeps, kind: TopicKind, records: readonly InboundRecord[], outcome: BatchOutcome): void {
  const { flow, metrics, log } = deps;
  if (outcome.outputs > 0 || outcome.dlq.length > 0) deps.relay.wake();
  for (const { tenantId, counts } of outcome.imbalanced) {
    metrics.ledgerImbalance.inc({ flow });
    log.error({ tenantId, ...counts }, 'flow outcome does not balance: written + skipped + dlq != received');
  }
  metrics.records.inc({ flow, topic: kind, outcome: 'written' }, outcome.written);
  metrics.records.inc({ flow, topic: kind, outcome: 'skipped' }, outcome.skipped);
  metrics.records.inc({ flow, topic: kind, outcome: 'dlq' }, outcome.dlq.length);
  for (const entry of outcome.dlq) {
    metrics.dlq.inc({ flow, topic: entry.record.kind, stage: entry.error.stage ?? 'transform', code: entry.error.code });
    log.warn({ err: entry.error, topic: entry.record.topic, partition: entry.record.partition, offset: entry.record.offset, correlationId: correlationIdOf(entry.record) }, 'record sent to the DLQ');
  }
  for (const entry of outcome.repeats) log.debug({ code: entry.error.code, topic: entry.record.topic, offset: entry.record.offset }, 'record already in the DLQ for the same reason at this version; not sent again');
  const now = deps.now();
  for (const r of records) {
    const receivedAt = (r.value as { received_at?: unknown } | null)?.received_at;
    if (typeof receivedAt === 'number') metrics.endToEndSeconds.observe({ flow, topic: kind }, Math.max(0, now - receivedAt) / 1000);
  }
  const dead = new Set([...outcome.dlq, ...outcome.repeats].map((entry) => entry.record.offset));
  deps.freshness.synced(flow, records.filter((r) => !dead.has(r.offset)).map((r) => r.value as SyncedEvent | null));
}

/** The webhook-id or poll run that brought a record: its Kafka header, else the event field. */
export function correlationIdOf(record: Pick<InboundRecord, 'headers' | 'value'>): string | undefined {
  const fromValue = (record.value as { correlation_id?: unknown } | null)?.correlation_id;
  return record.headers['correlation-id'] ?? (typeof fromValue === 'string' ? fromValue : undefined);
}

/** The consumers' Prometheus metrics (labels from bounded sets: topic kinds, outcomes, stages, partitions). */
import { counter, gauge, histogram, type Registry } from '../../metrics/index.js';

export type RecordOutcome = 'written' | 'skipped' | 'dlq' | 'fenced';

export function createConsumerMetrics(registry: Registry) {
  return {
    records: counter(registry, { name: 'acme_sync_consumer_records_total', help: 'Consumed records by flow, topic kind and outcome', labelNames: ['flow', 'topic', 'outcome'] as const }),
    dlq: counter(registry, { name: 'acme_sync_consumer_dlq_records_total', help: 'Records sent to the DLQ by flow, topic kind, stage and error code', labelNames: ['flow', 'topic', 'stage', 'code'] as const }),
    retries: counter(registry, { name: 'acme_sync_consumer_retries_total', help: 'Batch attempts retried after a transient failure', labelNames: ['flow', 'code'] as const }),
    batchSeconds: histogram(registry, { name: 'acme_sync_consumer_batch_seconds', help: 'Processing time of one batch, decode to commit', labelNames: ['flow'] as const }),
    endToEndSeconds: histogram(registry, {
      name: 'acme_sync_consumer_end_to_end_seconds', help: 'From the edge receiving the change (received_at) to its commit here', labelNames: ['flow', 'topic'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    }),
    dbWriteSeconds: histogram(registry, { name: 'acme_sync_consumer_db_write_seconds', help: 'Time inside the PostgreSQL transaction (apply, produce, offsets, commit)', labelNames: ['flow'] as const }),
    lag: gauge(registry, { name: 'acme_sync_consumer_lag_records', help: 'Records behind the high watermark after the last batch', labelNames: ['flow', 'topic', 'partition'] as const }),
    ledgerImbalance: counter(registry, { name: 'acme_sync_consumer_ledger_imbalance_total', help: 'Batches where a flow reported written + skipped + dlq different from what it received', labelNames: ['flow'] as const }),
  };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;

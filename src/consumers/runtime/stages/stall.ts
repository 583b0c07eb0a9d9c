/**
 * A partition that has retried transient failures for longer than `stallAfterMs` reports
 * itself stalled — acme_sync_partition_stalled{flow,topic,partition} = 1, /readyz not
 * ready, alert AcmeSyncPartitionStalled — and keeps retrying: dropping the batch would lose
 * data (Kafka Connect's errors.retry.timeout gives up instead; we give up only loudly).
 */
import { gauge, type Registry } from '../../../metrics/index.js';

export interface StallWatch {
  /** A retry of the partition's batch; `since` is when its first attempt failed. */
  failing(key: string, labels: { topic: string; partition: string }, since: number, now: number): void;
  /** The partition's batch committed: not stalled (the series exists at 0 from the first batch, for the alert). */
  recovered(key: string, labels?: { topic: string; partition: string }): void;
  /** The partition left this member: its series goes. */
  forget(key: string): void;
  /** The partitions stalled now (`topic:partition`). */
  stalled(): string[];
}

export function createStallWatch(registry: Registry, flow: string, stallAfterMs: number): StallWatch {
  const metric = gauge(registry, { name: 'acme_sync_partition_stalled', help: 'A partition retrying transient failures for longer than CONSUMER_STALL_AFTER_MS (1), else 0', labelNames: ['flow', 'topic', 'partition'] as const });
  const stalled = new Map<string, { flow: string; topic: string; partition: string }>();
  const seen = new Map<string, { flow: string; topic: string; partition: string }>();
  return {
    failing(key, labels, since, now) {
      if (now - since < stallAfterMs || stalled.has(key)) return;
      const l = { flow, ...labels };
      stalled.set(key, l);
      seen.set(key, l);
      metric.set(l, 1);
    },
    recovered(key, labels) {
      const l = stalled.get(key) ?? (labels === undefined || seen.has(key) ? undefined : { flow, ...labels });
      if (l === undefined) return;
      stalled.delete(key);
      seen.set(key, l);
      metric.set(l, 0);
    },
    forget(key) {
      const l = seen.get(key);
      stalled.delete(key);
      seen.delete(key);
      if (l !== undefined) metric.remove(l);
    },
    stalled: () => [...stalled.keys()],
  };
}

/**
 * Events the integration published to its input topics, counted once Kafka
 * acknowledged them: acme_sync_events_published_total{topic, source}, topic = the
 * topic kind (appointments, contacts, activities: not the prefixed topic name) and
 * source = how the change reached us (webhook, poll, reconcile, backfill, replay).
 * Both label sets are closed enums of the Avro contract.
 */
import { counter, type Registry } from './index.js';

export const EVENTS_PUBLISHED = 'acme_sync_events_published_total';

/** What the counter reads of an event (OutboundEvent from src/transforms/acme-to-event.ts fits). */
export interface PublishedEvent {
  kind: string;
  value: { source?: unknown };
}

export interface EventMetrics {
  /** Call once Kafka acknowledged these events. */
  published(events: Iterable<PublishedEvent>): void;
}

export function createEventMetrics(registry: Registry): EventMetrics {
  const published = counter(registry, { name: EVENTS_PUBLISHED, help: 'Events acknowledged by Kafka on the input topics, by topic kind and source', labelNames: ['topic', 'source'] as const });
  return {
    published(events) {
      const counts = new Map<string, { topic: string; source: string; n: number }>();
      for (const event of events) {
        const source = typeof event.value.source === 'string' ? event.value.source.toLowerCase() : 'unknown';
        const key = `${event.kind}\u0000${source}`;
        const entry = counts.get(key) ?? { topic: event.kind, source, n: 0 };
        entry.n += 1;
        counts.set(key, entry);
      }
      for (const { topic, source, n } of counts.values()) published.inc({ topic, source }, n);
    },
  };
}

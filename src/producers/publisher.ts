/**
 * Publishes the edge's events to Kafka and resolves only once Kafka acknowledged them
 * (idempotent producer, acks=all).
 *
 * kafkajs has no `linger.ms`: every send is a round trip. Concurrent callers (many
 * webhooks at once, a poll page) are therefore gathered for up to `lingerMs` or
 * `maxBatch` events into one send, and each caller's promise settles with its
 * own events. While one batch is in flight the next one fills.
 */
import { ERROR_CODES, TransientError, isRetriable } from '../errors/index.js';
import type { TopicKind, TopicNames } from '../kafka/topics.js';
import type { KafkaProducer, OutgoingRecord } from '../kafka/types.js';
import type { Registry } from '../metrics/index.js';
import { createEventMetrics } from '../metrics/events.js';
import type { AvroCodec } from '../registry/index.js';
import type { OutboundEvent } from '../transforms/acme-to-event.js';

export interface PublisherOptions {
  producer: KafkaProducer;
  codec: AvroCodec;
  topics: TopicNames;
  lingerMs: number;
  maxBatch?: number;
  /** A send that Kafka has not acknowledged by then fails as transient (the caller answers 503). */
  ackTimeoutMs?: number;
  /** Extra Kafka headers per event (e.g. the correlation ID). */
  headers?: (event: OutboundEvent) => Record<string, string>;
  onBatch?: (info: { events: number; durationMs: number; ok: boolean }) => void;
  /** Counts acknowledged events in acme_sync_events_published_total{topic, source}. */
  metrics?: Registry;
}

export interface EventPublisher {
  publish(events: readonly OutboundEvent[]): Promise<void>;
  /** Flush what is queued and stop accepting events. */
  close(): Promise<void>;
}

interface Pending {
  events: readonly OutboundEvent[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function kafkaUnavailable(cause: unknown): TransientError {
  // Already classified as transient (the Kafka port's errors): not wrapped a second time.
  if (cause instanceof TransientError) return cause;
  return new TransientError(`Kafka did not acknowledge the write: ${(cause as Error)?.message ?? String(cause)}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE, stage: 'produce', cause });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientError(`No acknowledgement from Kafka within ${ms} ms`, { code: ERROR_CODES.KAFKA_UNAVAILABLE, stage: 'produce' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createEventPublisher(options: PublisherOptions): EventPublisher {
  const maxBatch = options.maxBatch ?? 500;
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  let queue: Pending[] = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const inFlight = new Set<Promise<void>>();
  const eventMetrics = options.metrics ? createEventMetrics(options.metrics) : undefined;

  async function encode(event: OutboundEvent): Promise<{ topic: string; message: OutgoingRecord }> {
    const value = await options.codec.encode(event.kind as TopicKind, event.value);
    const headers = options.headers?.(event);
    return { topic: options.topics[event.kind], message: { key: event.key, value, ...(headers ? { headers } : {}) } };
  }

  async function send(batch: Pending[]): Promise<void> {
    const started = performance.now();
    // Encode per caller: a record that does not fit its schema fails its own caller only.
    const encoded = await Promise.all(
      batch.map(async (p) => {
        try {
          return { pending: p, records: await Promise.all(p.events.map(encode)) };
        } catch (err) {
          p.reject(err);
          return undefined;
        }
      }),
    );
    const ready = encoded.filter((e): e is NonNullable<typeof e> => e !== undefined);
    if (ready.length === 0) return;
    const byTopic = new Map<string, OutgoingRecord[]>();
    for (const { records } of ready) for (const { topic, message } of records) byTopic.set(topic, [...(byTopic.get(topic) ?? []), message]);
    const count = ready.reduce((n, r) => n + r.records.length, 0);
    try {
      await withTimeout(options.producer.send([...byTopic].map(([topic, records]) => ({ topic, records }))), ackTimeoutMs);
      for (const { pending } of ready) pending.resolve();
      eventMetrics?.published(ready.flatMap(({ pending }) => pending.events));
      options.onBatch?.({ events: count, durationMs: performance.now() - started, ok: true });
    } catch (err) {
      // A timeout or a retriable broker error (the Kafka port classifies): the caller may retry (webhooks answer 503).
      const error = err instanceof TransientError ? err : isRetriable(err) ? kafkaUnavailable(err) : err;
      for (const { pending } of ready) pending.reject(error);
      options.onBatch?.({ events: count, durationMs: performance.now() - started, ok: false });
    }
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    queued = 0;
    const p = send(batch).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }

  return {
    publish(events) {
      if (closed) return Promise.reject(kafkaUnavailable(new Error('publisher is closed')));
      if (events.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ events, resolve, reject });
        queued += events.length;
        if (queued >= maxBatch || options.lingerMs === 0) flush();
        else timer ??= setTimeout(flush, options.lingerMs);
      });
    },
    async close() {
      closed = true;
      flush();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * Two lanes for Acme's records (issue 17): live changes (webhooks, incremental polls)
 * and history (backfills, reconciliation). Measured before: while one tenant's 100,000-
 * record backfill went through the same topics and partitions, another tenant's live
 * edits went from p99 47 ms to 135–150 ms webhook → row, and several onboardings at once
 * would have queued every tenant's live changes behind the backlog.
 *
 * History travels on its own topics (TOPIC_SPECS *History) and is consumed by its own
 * consumer group per flow with a bounded share of the consumers (settings
 * CONSUMER_HISTORY_*), so a live record never waits behind a history record in a
 * partition. Both lanes carry the same events with the same keys; across lanes the order
 * of one Acme record's versions is not Kafka's but the sinks' version guards' (every
 * table upserts `WHERE stored.acme_version < new.acme_version` under a row lock), so an
 * older version read by a backfill never overwrites a newer live one.
 *
 * A lane is configuration, not code: the history lane's topic map points the input kinds
 * (appointments, contacts, activities) at the history topics, so the runner, the flows
 * and the publisher work unchanged. The history kinds point back at the live topics —
 * a swap — so a map from topic name back to kind stays one-to-one.
 */
import type { AvroCodec } from '../registry/index.js';
import type { Source } from '../transforms/types.js';
import type { TopicKind, TopicNames } from './topics.js';

export type Lane = 'live' | 'history';
export const LANES: readonly Lane[] = ['live', 'history'];

/** The input kinds and their history topics. */
export const HISTORY_KIND_OF = { appointments: 'appointmentsHistory', contacts: 'contactsHistory', activities: 'activitiesHistory' } as const satisfies Partial<Record<TopicKind, TopicKind>>;
type LaneKind = keyof typeof HISTORY_KIND_OF;

/** Backfills and reconciliation read history; webhooks and incremental polls bring live changes. */
export function laneOf(source: Source): Lane {
  return source === 'BACKFILL' || source === 'RECONCILE' ? 'history' : 'live';
}

/** The topic map a publisher or consumer group of this lane works with. */
export function laneTopics(topics: TopicNames, lane: Lane): TopicNames {
  if (lane === 'live') return topics;
  const swapped: Record<TopicKind, string> = { ...topics };
  for (const [kind, history] of Object.entries(HISTORY_KIND_OF) as [LaneKind, TopicKind][]) {
    swapped[kind] = topics[history];
    swapped[history] = topics[kind];
  }
  return swapped;
}

/** Encodes an input kind with its history topic's registered schema (subject `<history topic>-value`). */
export function laneCodec(codec: AvroCodec, lane: Lane): AvroCodec {
  if (lane === 'live') return codec;
  return {
    encode: (kind, value) => codec.encode((HISTORY_KIND_OF as Partial<Record<TopicKind, TopicKind>>)[kind] ?? kind, value),
    decode: (buffer) => codec.decode(buffer),
  };
}

/** Every topic Acme's records travel on, both lanes (DLQ replay targets). */
export function inputTopics(topics: TopicNames): string[] {
  return (Object.entries(HISTORY_KIND_OF) as [LaneKind, TopicKind][]).flatMap(([kind, history]) => [topics[kind], topics[history]]);
}

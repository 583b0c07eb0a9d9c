/**
 * A publisher that sends each event to its lane (src/kafka/lanes.ts): BACKFILL and
 * RECONCILE events to the history topics, the rest to the live ones. The poller and the
 * backfills publish through it; the edge's webhooks are all live and keep the plain
 * publisher. One producer serves both lanes.
 */
import { laneCodec, laneOf, laneTopics, type Lane } from '../kafka/lanes.js';
import type { TopicNames } from '../kafka/topics.js';
import type { KafkaProducer } from '../kafka/types.js';
import type { AvroCodec } from '../registry/index.js';
import type { OutboundEvent } from '../transforms/acme-to-event.js';
import { createEventPublisher, type EventPublisher, type PublisherOptions } from './publisher.js';

export interface LanePublisherOptions extends Omit<PublisherOptions, 'topics' | 'codec' | 'producer'> {
  producer: KafkaProducer;
  codec: AvroCodec;
  topics: TopicNames;
  /** The live lane's publisher when one exists already (the process's); created otherwise. */
  live?: EventPublisher;
}

export function createLanePublisher(options: LanePublisherOptions): EventPublisher {
  const { live: given, ...rest } = options;
  const history = createEventPublisher({ ...rest, topics: laneTopics(options.topics, 'history'), codec: laneCodec(options.codec, 'history') });
  const live = given ?? createEventPublisher(rest);
  const of: Record<Lane, EventPublisher> = { live, history };
  return {
    async publish(events) {
      const split: Record<Lane, OutboundEvent[]> = { live: [], history: [] };
      for (const event of events) split[laneOf(event.value.source)].push(event);
      await Promise.all((['live', 'history'] as const).filter((lane) => split[lane].length > 0).map((lane) => of[lane].publish(split[lane])));
    },
    async close() {
      await Promise.all([history.close(), given === undefined ? live.close() : Promise.resolve()]);
    },
  };
}

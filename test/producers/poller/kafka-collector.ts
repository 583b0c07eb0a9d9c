/** Reads the edge's three input topics from the beginning in the background, decoding Avro. */
import type { Consumer } from 'kafkajs';
import type { IsolatedStack } from '../../helpers/isolated-stack.js';
import { waitUntil } from '../../helpers/wait.js';
import type { EventEnvelope } from '../../../src/transforms/types.js';

export interface Collected {
  topic: string;
  key: string;
  schemaId: number;
  value: EventEnvelope & Record<string, unknown>;
}

export interface Collector {
  events: Collected[];
  /** Waits until `predicate` holds for the collected events (bounded; throws with what it saw). */
  until(predicate: (events: Collected[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCollector(stack: IsolatedStack): Promise<Collector> {
  const consumer: Consumer = stack.kafkajs.consumer({ groupId: `${stack.id}-collector`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [stack.topics.appointments, stack.topics.contacts, stack.topics.activities], fromBeginning: true });
  const events: Collected[] = [];
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const { schemaId, value } = await stack.codec.decode<Collected['value']>(message.value);
      events.push({ topic, key: message.key!.toString(), schemaId, value });
    },
  });
  return {
    events,
    async until(predicate, what, timeoutMs = 30_000) {
      await waitUntil(() => {
        if (!predicate(events)) throw new Error(`Kafka never showed ${what}; ${events.length} events collected`);
      }, { timeoutMs, intervalMs: 50 });
    },
    close: () => consumer.disconnect(),
  };
}

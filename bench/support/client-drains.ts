/**
 * The ceilings: the same backlog drained by a consumer that does nothing with the
 * records (the Kafka client alone) and by one that only Avro-decodes them with the
 * project's codec — with kafkajs (what the runner uses, same consumer settings) and
 * with @platformatic/kafka, to tell whether the client library is the limit.
 */
import { Consumer as PlatformaticConsumer, MessagesStreamModes } from '@platformatic/kafka';
import type { Kafka } from 'kafkajs';
import type { AvroCodec } from '../../src/registry/index.js';
import { startMeter } from './stats.js';

export type ClientMode = 'bare' | 'decode';

export interface ClientDrain {
  events: number;
  seconds: number;
  eventsPerSec: number;
  cpuUsPerEvent: number;
}

export interface ClientDrainInput {
  topics: string[];
  /** Records to consume before stopping (the backlog, or fewer for a warm-up). */
  expected: number;
  mode: ClientMode;
  codec: AvroCodec;
  groupId: string;
}

function result(expected: number, measured: { wallMs: number; cpuUs: number }): ClientDrain {
  return { events: expected, seconds: measured.wallMs / 1000, eventsPerSec: expected / (measured.wallMs / 1000), cpuUsPerEvent: measured.cpuUs / expected };
}

/** kafkajs with the runner's consumer settings (eachBatch, 3 partitions at a time, 1 MiB per partition). */
export async function drainKafkajs(kafka: Kafka, input: ClientDrainInput): Promise<ClientDrain> {
  const consumer = kafka.consumer({ groupId: input.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxBytesPerPartition: 1_048_576, allowAutoTopicCreation: false });
  let count = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: input.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch }) => {
        if (input.mode === 'decode') for (const m of batch.messages) await input.codec.decode(m.value);
        count += batch.messages.length;
        if (count >= input.expected) finish();
      },
    });
    const meter = startMeter();
    await finished;
    return result(input.expected, meter.stop());
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** @platformatic/kafka's stream consumer, Buffers in (no deserializers), earliest offsets. */
export async function drainPlatformatic(brokers: readonly string[], input: ClientDrainInput): Promise<ClientDrain> {
  const consumer = new PlatformaticConsumer({ clientId: 'bench-platformatic', bootstrapBrokers: [...brokers], groupId: input.groupId, sessionTimeout: 30_000, heartbeatInterval: 3_000, maxBytesPerPartition: 1_048_576 });
  let count = 0;
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => ((finish = resolve), (fail = reject)));
  try {
    const stream = await consumer.consume({ topics: input.topics, mode: MessagesStreamModes.EARLIEST, autocommit: false });
    const meter = startMeter();
    stream.on('error', fail);
    if (input.mode === 'bare') {
      stream.on('data', () => {
        if (++count === input.expected) finish();
      });
    } else {
      // for await: one record at a time, as eachBatch decodes them above.
      void (async () => {
        for await (const message of stream) {
          await input.codec.decode(message.value as Buffer);
          if (++count >= input.expected) return finish();
        }
      })().catch(fail);
    }
    await finished;
    const measured = meter.stop();
    await stream.close().catch(() => undefined);
    return result(input.expected, measured);
  } finally {
    await consumer.close().catch(() => undefined);
  }
}

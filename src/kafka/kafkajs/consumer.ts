/**
 * The port's group consumer over kafkajs: `eachBatch` per partition, no auto-commit and no
 * auto-resolve (the caller resolves what it consumed), topics never auto-created.
 */
import type { Batch, Consumer, IHeaders, Kafka, KafkaMessage } from 'kafkajs';
import type { Assignment, GroupConsumer, GroupConsumerOptions, IncomingRecord, RecordBatch } from '../types.js';
import { kafkaCall, toKafkaError } from './errors.js';
import { consumerConfig } from './options.js';

/**
 * kafkajs decodes a header key that occurs more than once into an array; the port has one
 * value per key: the last, as the Java client's `Headers.lastHeader`.
 */
export function headersOf(headers: IHeaders | undefined): IncomingRecord['headers'] {
  const out: IncomingRecord['headers'] = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k] = Array.isArray(v) ? v.at(-1) : v;
  return out;
}

export function incomingRecord(m: KafkaMessage): IncomingRecord {
  return { key: m.key, value: m.value, headers: headersOf(m.headers), offset: m.offset, timestamp: m.timestamp };
}

function recordBatch(batch: Batch): RecordBatch {
  return {
    topic: batch.topic, partition: batch.partition, records: batch.messages.map(incomingRecord),
    firstOffset: batch.firstOffset()!, lastOffset: batch.lastOffset(), highWatermark: batch.highWatermark,
  };
}

export function createKafkajsConsumer(kafka: Kafka, options: GroupConsumerOptions): GroupConsumer {
  const consumer: Consumer = kafka.consumer(consumerConfig(options));
  return {
    connect: () => kafkaCall(() => consumer.connect()),
    subscribe: (topics, fromBeginning) => kafkaCall(() => consumer.subscribe({ topics: [...topics], fromBeginning })),
    run: ({ concurrency, eachBatch }) =>
      kafkaCall(() =>
        consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: concurrency,
          eachBatch: async (payload) => {
            if (payload.batch.isEmpty()) return;
            await eachBatch(recordBatch(payload.batch), {
              heartbeat: () => kafkaCall(() => payload.heartbeat()),
              isStale: () => payload.isStale(),
              pause: () => payload.pause(),
              resolveOffset: (offset) => payload.resolveOffset(offset),
            });
          },
        }),
      ),
    seek: (topic, partition, offset) => consumer.seek({ topic, partition, offset }),
    commitOffsets: (offsets) => kafkaCall(() => consumer.commitOffsets(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })))),
    onAssignment(listener) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => listener(payload.memberAssignment as Assignment));
    },
    onCrash(listener) {
      consumer.on(consumer.events.CRASH, ({ payload }) => listener(toKafkaError(payload.error), payload.restart));
    },
    disconnect: () => kafkaCall(() => consumer.disconnect()),
  };
}

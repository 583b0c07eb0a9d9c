/**
 * `readTopic` over kafkajs: kafkajs cannot read without a consumer group, so a throw-away
 * group reads the partitions up to where they ended at the call and is deleted afterwards.
 * For tools (the DLQ), not for the pipeline.
 */
import type { Kafka } from 'kafkajs';
import { ERROR_CODES, TransientError } from '../../errors/index.js';
import type { ReadTopicOptions, TopicRecord } from '../types.js';
import { incomingRecord } from './consumer.js';
import { kafkaCall, toKafkaError } from './errors.js';

interface Range {
  start: bigint;
  end: bigint;
}

export async function readTopic(kafka: Kafka, topic: string, options: ReadTopicOptions, onRecord: (record: TopicRecord) => void): Promise<void> {
  const admin = kafka.admin();
  await kafkaCall(() => admin.connect());
  const groupId = `acme-sync-reader-${process.pid}-${Date.now()}`;
  try {
    const offsets = await kafkaCall(() => admin.fetchTopicOffsets(topic));
    const remaining = new Map<number, Range>();
    for (const o of offsets) {
      if (options.partitions !== undefined && !options.partitions.includes(o.partition)) continue;
      const from = options.from?.(o.partition);
      const start = from === undefined ? BigInt(o.low) : BigInt(from);
      const high = BigInt(o.high);
      const end = options.until === 'end' ? high : BigInt(options.until.before) < high ? BigInt(options.until.before) : high;
      if (end > start) remaining.set(o.partition, { start, end });
    }
    const total = [...remaining.values()].reduce((n, r) => n + Number(r.end - r.start), 0);
    if (remaining.size === 0) return;
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    let read = 0;
    let timer: NodeJS.Timeout | undefined;
    await kafkaCall(() => consumer.connect());
    try {
      await kafkaCall(() => consumer.subscribe({ topic, fromBeginning: true }));
      await new Promise<void>((resolve, reject) => {
        if (options.timeoutMs !== undefined) {
          timer = setTimeout(() => reject(new TransientError(`Timed out reading ${topic}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE, context: { topic } })), options.timeoutMs);
        }
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch, heartbeat }) => {
              const range = remaining.get(batch.partition);
              if (range === undefined) return;
              for (const message of batch.messages) {
                const offset = BigInt(message.offset);
                if (offset < range.start) continue;
                if (offset >= range.end) break;
                read++;
                onRecord({ ...incomingRecord(message), partition: batch.partition });
              }
              options.onProgress?.(read, total);
              await heartbeat();
              if (BigInt(batch.lastOffset()) + 1n >= range.end) remaining.delete(batch.partition);
              if (remaining.size === 0) resolve();
            },
          })
          .then(() => {
            // Partitions that start past their first offset: seek once the consumer runs (kafkajs applies it on assignment).
            for (const [partition, range] of remaining) {
              const low = offsets.find((o) => o.partition === partition)?.low;
              if (low === undefined || BigInt(low) !== range.start) consumer.seek({ topic, partition, offset: range.start.toString() });
            }
          })
          .catch((err: unknown) => reject(toKafkaError(err)));
      });
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
    }
  } finally {
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

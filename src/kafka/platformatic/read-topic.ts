/**
 * The port's readTopic over @platformatic/kafka: Fetch requests straight to each
 * partition's leader, no consumer group at all (the kafkajs adapter needs a throw-away
 * group; the Fetch API does not). For tools (the DLQ). MEASUREMENT-ONLY (issue 14).
 */
import { ERROR_CODES, TransientError } from '../../errors/index.js';
import type { KafkaClientOptions, ReadTopicOptions, TopicRecord } from '../types.js';
import { recordsOf } from './consumer.js';
import { toKafkaError } from './errors.js';
import { EARLIEST, LATEST, loadLibrary } from './library.js';
import { baseOptions } from './options.js';

export async function readTopicWithPlatformatic(client: KafkaClientOptions, topic: string, options: ReadTopicOptions, onRecord: (record: TopicRecord) => void): Promise<void> {
  const { Consumer } = await loadLibrary();
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({ ...baseOptions(client, 'read-topic'), groupId: `${client.clientId}-read-topic` });
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  try {
    const [low, high] = await Promise.all([
      consumer.listOffsets({ topics: [topic], timestamp: EARLIEST }),
      consumer.listOffsets({ topics: [topic], timestamp: LATEST }),
    ]);
    const all = (high.get(topic) ?? []).map((_, p) => p);
    const wanted = options.partitions ? all.filter((p) => options.partitions!.includes(p)) : all;
    const range = new Map<number, { next: bigint; end: bigint }>();
    for (const p of wanted) {
      const hw = high.get(topic)![p]!;
      const end = options.until === 'end' ? hw : BigInt(options.until.before) < hw ? BigInt(options.until.before) : hw;
      const from = options.from?.(p);
      const next = from === undefined ? low.get(topic)![p]! : BigInt(from);
      if (next < end) range.set(p, { next, end });
    }
    const total = [...range.values()].reduce((s, r) => s + Number(r.end - r.next), 0);
    let read = 0;
    while (range.size > 0) {
      if (Date.now() > deadline) throw new TransientError(`Reading ${topic} did not finish within ${options.timeoutMs} ms`, { code: ERROR_CODES.KAFKA_UNAVAILABLE });
      const metadata = await consumer.metadata({ topics: [topic] });
      const t = metadata.topics.get(topic)!;
      const byLeader = new Map<number, number[]>();
      for (const p of range.keys()) byLeader.set(t.partitions[p]!.leader, [...(byLeader.get(t.partitions[p]!.leader) ?? []), p]);
      await Promise.all([...byLeader].map(async ([node, partitions]) => {
        const response = await consumer.fetch({
          node, maxWaitTime: 200,
          topics: [{ topicId: t.id, partitions: partitions.map((partition) => ({ partition, fetchOffset: range.get(partition)!.next, partitionMaxBytes: 1_048_576, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
        });
        for (const part of response.responses.flatMap((r) => r.partitions)) {
          const r = range.get(part.partitionIndex);
          if (r === undefined) continue;
          const { records, lastOffset } = recordsOf(part.records, r.next);
          for (const record of records) {
            if (BigInt(record.offset) >= r.end) break;
            onRecord({ ...record, partition: part.partitionIndex });
            read++;
          }
          if (lastOffset !== undefined) r.next = lastOffset + 1n;
          if (r.next >= r.end) range.delete(part.partitionIndex);
        }
      }));
      options.onProgress?.(read, total);
    }
  } catch (err) {
    throw toKafkaError(err, `Reading ${topic} failed`);
  } finally {
    await consumer.close().catch(() => undefined);
  }
}

/**
 * The port's producer over @platformatic/kafka: idempotent, acks=all (KIP-98).
 *
 * Sends go out ONE AT A TIME. The library keeps one sequence number per partition and
 * advances it only when a produce answer arrives (producer.js #performSend), so two sends in
 * flight to the same partition carry the same sequence: the broker takes the second for a
 * retry of the first and answers DUPLICATE_SEQUENCE as a success — records lost without an
 * error (@platformatic/kafka issue #326, present in 1.35.0). A chain of promises serializes
 * them; the runner's relay and the edge's publisher batch their records, so one send in
 * flight is what kafkajs does too (maxInFlightRequests: 1 with idempotence).
 *
 * Partitioning: murmur2 of the key's UTF-8 bytes, positive-masked, modulo the partition
 * count — the Java client's and kafkajs' DefaultPartitioner, so a key lands on the same
 * partition whichever client wrote it (the library's `compatibilityPartitioner`; its default
 * partitioner uses `>>> 0` instead of the mask and routes some keys elsewhere). A record
 * without a key goes to partition 0 (the library's choice; we always send keys).
 */
import { compatibilityPartitioner, Producer, ProduceAcks, type MessageToProduce } from '@platformatic/kafka';
import { ERROR_CODES, TransientError } from '../../errors/index.js';
import type { Acknowledgement, KafkaProducer, TopicRecords } from '../types.js';
import { toKafkaError } from './errors.js';
import { baseOptions, type PlatformaticOptions } from './options.js';

/** Records per produce request: the kafkajs adapter's request budget is bytes; the library splits nothing itself. */
export const MAX_RECORDS_PER_REQUEST = 2_000;
const MAX_BYTES_PER_REQUEST = 512 * 1024;

function toMessage(topic: string, record: TopicRecords['records'][number]): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  return {
    topic,
    key: record.key === null ? undefined : Buffer.from(record.key, 'utf8'),
    value: record.value ?? undefined,
    ...(record.headers ? { headers: new Map(Object.entries(record.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])) } : {}),
    ...(record.timestamp !== undefined ? { timestamp: BigInt(record.timestamp) } : {}),
  } as MessageToProduce<Buffer, Buffer, Buffer, Buffer>;
}

function sizeOf(m: MessageToProduce<Buffer, Buffer, Buffer, Buffer>): number {
  let headers = 0;
  if (m.headers instanceof Map) for (const [k, v] of m.headers) headers += k.length + v.length;
  return 64 + (m.key?.length ?? 0) + (m.value?.length ?? 0) + headers;
}

/** Requests of at most MAX_BYTES_PER_REQUEST / MAX_RECORDS_PER_REQUEST, in order (a broker refuses a batch over max.message.bytes). */
export function chunkMessages<T extends MessageToProduce<Buffer, Buffer, Buffer, Buffer>>(messages: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (current.length > 0 && (bytes + size > MAX_BYTES_PER_REQUEST || current.length >= MAX_RECORDS_PER_REQUEST)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function createPlatformaticProducer(options: PlatformaticOptions): KafkaProducer {
  let producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  let connected = false;
  let tail: Promise<unknown> = Promise.resolve();

  async function sendOne(p: Producer<Buffer, Buffer, Buffer, Buffer>, messages: MessageToProduce<Buffer, Buffer, Buffer, Buffer>[]): Promise<Acknowledgement[]> {
    let result;
    try {
      result = await p.send({ messages, acks: ProduceAcks.ALL });
    } catch (err) {
      throw toKafkaError(err, 'Kafka did not acknowledge the write', 'produce');
    }
    // The library fails the whole send when any destination fails (runConcurrentCallbacks in
    // producer.js #performSend), so an answer is an acknowledgement of every record of it.
    return (result.offsets ?? []).map((o) => ({ topic: o.topic, partition: o.partition, baseOffset: o.offset.toString() }));
  }

  async function send(topicRecords: readonly TopicRecords[]): Promise<Acknowledgement[]> {
    const p = producer;
    if (p === undefined || !connected) throw new TransientError('The Kafka producer is not connected', { code: ERROR_CODES.KAFKA_UNAVAILABLE, stage: 'produce' });
    const messages = topicRecords.flatMap(({ topic, records }) => records.map((r) => toMessage(topic, r)));
    if (messages.length === 0) return [];
    const acks: Acknowledgement[] = [];
    for (const chunk of chunkMessages(messages)) acks.push(...(await sendOne(p, chunk)));
    return acks;
  }

  return {
    async connect() {
      if (connected) return;
      producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(options, 'producer'),
        idempotent: true,
        acks: ProduceAcks.ALL,
        partitioner: compatibilityPartitioner,
        // Stale metadata (a leader moved): refresh and send the failed destination again.
        repeatOnStaleMetadata: true,
      });
      try {
        await producer.initIdempotentProducer({});
      } catch (err) {
        await producer.close().catch(() => undefined);
        producer = undefined;
        throw toKafkaError(err, 'Kafka producer could not start', 'produce');
      }
      connected = true;
    },
    async disconnect() {
      if (!producer) return;
      connected = false;
      await tail.catch(() => undefined);
      const p = producer;
      producer = undefined;
      await p.close().catch(() => undefined);
    },
    isConnected: () => connected,
    send(topicRecords) {
      // One send in flight (issue #326): each waits for the previous one, failed or not.
      const result = tail.then(() => send(topicRecords));
      tail = result.catch(() => undefined);
      return result;
    },
  };
}

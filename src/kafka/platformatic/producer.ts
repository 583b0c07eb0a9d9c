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
import type { MessageToProduce, Producer } from '@platformatic/kafka';
import { ERROR_CODES, TransientError } from '../../errors/index.js';
import { chunkTopicRecords } from '../chunk.js';
import type { Acknowledgement, KafkaClientOptions, KafkaProducer, OutgoingRecord, TopicRecords } from '../types.js';
import { toKafkaError } from './errors.js';
import { loadLibrary, PRODUCE_ACKS_ALL } from './library.js';
import { baseOptions } from './options.js';

type Message = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

export function toMessage(topic: string, record: OutgoingRecord): Message {
  const message: Message = { topic };
  // A Buffer key: the library's partitioners hash Buffers only (a string key goes to partition 0).
  if (record.key !== null) message.key = Buffer.from(record.key, 'utf8');
  if (record.value !== null) message.value = record.value;
  if (record.headers) message.headers = new Map(Object.entries(record.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
  if (record.timestamp !== undefined) message.timestamp = BigInt(record.timestamp);
  return message;
}

export function createPlatformaticProducer(options: KafkaClientOptions): KafkaProducer {
  let producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  let connected = false;
  let tail: Promise<unknown> = Promise.resolve();

  async function sendOne(p: Producer<Buffer, Buffer, Buffer, Buffer>, messages: Message[]): Promise<Acknowledgement[]> {
    let result;
    try {
      result = await p.send({ messages, acks: PRODUCE_ACKS_ALL });
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
    const acks: Acknowledgement[] = [];
    // Requests of at most MAX_REQUEST_BYTES, in order (a broker refuses a batch over max.message.bytes).
    for (const chunk of chunkTopicRecords(topicRecords)) acks.push(...(await sendOne(p, chunk.flatMap(({ topic, records }) => records.map((r) => toMessage(topic, r))))));
    return acks;
  }

  return {
    async connect() {
      if (connected) return;
      const { Producer, compatibilityPartitioner } = await loadLibrary();
      producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(options, 'producer'),
        idempotent: true,
        acks: PRODUCE_ACKS_ALL,
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

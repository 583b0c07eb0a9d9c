/**
 * The port's producer over kafkajs. Every writer is idempotent with acks=all: a retried
 * send never duplicates and an acknowledged record survives a broker loss (KIP-98).
 * kafkajs allows at most one in-flight request with idempotence.
 *
 * A send resolves only when every record is acknowledged: kafkajs 2.2.4 can resolve a
 * send without writing some records when a partition's leader moves during it
 * (`unacknowledgedPartitions`), so each request is checked (`verifyAcknowledged`).
 */
import { Partitioners, type Kafka, type Message, type RecordMetadata } from 'kafkajs';
import { ERROR_CODES, TransientError } from '../../errors/index.js';
import { chunkTopicRecords } from '../chunk.js';
import type { Acknowledgement, KafkaProducer, OutgoingRecord, TopicRecords } from '../types.js';
import { kafkaCall, toKafkaError } from './errors.js';

type Ack = Pick<RecordMetadata, 'topicName' | 'partition'>;

/**
 * The partitions (`topic:partition`) that records were routed to and that no acknowledgement
 * covers. kafkajs' sendMessages keeps the answers of brokers that already replied across its
 * retries and sends only to brokers without one; when a leader change moves a failed
 * partition to a broker that had answered for other partitions, that partition's records are
 * never sent and the send still resolves (kafkajs src/producer/sendMessages.js,
 * `brokersWithoutResponse`; cluster.findLeaderForPartitions also drops partitions missing
 * from the metadata). Found by the broker-failures drill: a key's latest output missing from
 * its topic after a leader was killed, the row that produced it committed and its outbox row
 * deleted. A record routed nowhere (`undefined`) is unacknowledged too.
 */
export function unacknowledgedPartitions<M>(
  topicMessages: readonly { topic: string; messages: readonly M[] }[],
  acks: readonly Ack[],
  routedTo: (message: M) => number | undefined,
): string[] {
  const acknowledged = new Set(acks.map((a) => `${a.topicName}:${a.partition}`));
  const missing = new Set<string>();
  for (const { topic, messages } of topicMessages) {
    for (const message of messages) {
      const partition = routedTo(message);
      const key = `${topic}:${partition ?? '?'}`;
      if (partition === undefined || !acknowledged.has(key)) missing.add(key);
    }
  }
  return [...missing];
}

/** Throws a retriable KAFKA_UNAVAILABLE naming the partitions when a send left records unacknowledged. */
export function verifyAcknowledged<M>(
  topicMessages: readonly { topic: string; messages: readonly M[] }[],
  acks: readonly Ack[],
  routedTo: (message: M) => number | undefined,
): void {
  const missing = unacknowledgedPartitions(topicMessages, acks, routedTo);
  if (missing.length > 0) {
    throw new TransientError(`Kafka acknowledged the send without ${missing.length} of its partitions (${missing.slice(0, 10).join(', ')}); sending again`, {
      code: ERROR_CODES.KAFKA_UNAVAILABLE,
      stage: 'produce',
      context: { unacknowledged: missing.join(',') },
    });
  }
}

function toMessage(record: OutgoingRecord): Message {
  return {
    key: record.key,
    value: record.value,
    ...(record.headers === undefined ? {} : { headers: record.headers }),
    ...(record.timestamp === undefined ? {} : { timestamp: record.timestamp }),
  };
}

export function createKafkajsProducer(kafka: Kafka): KafkaProducer {
  const routed = new WeakMap<Message, number>();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // murmur2 over the key, as the Java client partitions: other languages' producers of
    // the same keys land on the same partitions (kafkajs v2's default, named to be explicit).
    // Wrapped to remember where each record was routed, for the acknowledgement check.
    createPartitioner: () => {
      const partition = Partitioners.DefaultPartitioner();
      return (args) => {
        const chosen = partition(args);
        routed.set(args.message, chosen);
        return chosen;
      };
    },
  });
  let connected = false;
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => (connected = false));

  async function sendRequest(topicRecords: readonly TopicRecords[]): Promise<Acknowledgement[]> {
    const topicMessages = topicRecords.map(({ topic, records }) => ({ topic, messages: records.map(toMessage) }));
    const acks = await producer.sendBatch({ acks: -1, topicMessages });
    verifyAcknowledged(topicMessages, acks, (message) => routed.get(message));
    return acks.map((a) => {
      const baseOffset = a.baseOffset ?? a.offset;
      if (baseOffset === undefined) throw new TransientError(`No acknowledgement offset for ${a.topicName}:${a.partition}`, { code: ERROR_CODES.KAFKA_UNAVAILABLE, stage: 'produce' });
      return { topic: a.topicName, partition: a.partition, baseOffset };
    });
  }

  return {
    connect: () => kafkaCall(() => producer.connect(), 'produce'),
    disconnect: () => kafkaCall(() => producer.disconnect(), 'produce'),
    isConnected: () => connected,
    async send(topicRecords) {
      const acks: Acknowledgement[] = [];
      try {
        // In order, one request at a time: per-key order holds across the chunks.
        for (const chunk of chunkTopicRecords(topicRecords)) acks.push(...(await sendRequest(chunk)));
      } catch (err) {
        throw toKafkaError(err, 'produce');
      }
      return acks;
    },
  };
}

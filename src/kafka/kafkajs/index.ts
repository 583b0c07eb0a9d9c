/**
 * The kafkajs adapter of the Kafka port (src/kafka/types.ts), the default
 * (`createKafkaClient`, src/kafka/index.ts).
 */
import type { Kafka } from 'kafkajs';
import type { KafkaClient, KafkaClientOptions } from '../types.js';
import { createKafkajsAdmin } from './admin.js';
import { createKafkajsConsumer } from './consumer.js';
import { createKafkajs } from './options.js';
import { createKafkajsProducer } from './producer.js';
import { readTopic } from './read.js';

export { createKafkajs } from './options.js';
export { isTransientKafkaFailure, toKafkaError } from './errors.js';
export { unacknowledgedPartitions, verifyAcknowledged } from './producer.js';

export function createKafkajsClient(options: KafkaClientOptions | { kafka: Kafka }): KafkaClient {
  const kafka = 'kafka' in options ? options.kafka : createKafkajs(options);
  return {
    producer: () => createKafkajsProducer(kafka),
    consumer: (consumerOptions) => createKafkajsConsumer(kafka, consumerOptions),
    admin: () => createKafkajsAdmin(kafka),
    readTopic: (topic, readOptions, onRecord) => readTopic(kafka, topic, readOptions, onRecord),
  };
}

/**
 * The Kafka port (src/kafka/types.ts) over @platformatic/kafka — selected with
 * KAFKA_CLIENT=platformatic.
 *
 * MEASUREMENT-ONLY (issue 14): kafkajs stays the default (the design card's choice) and
 * @platformatic/kafka a devDependency, unless it is ≥ 20 % faster end to end through the
 * whole runner (`npm run bench -- --only consumers`, the variant "flow through the runner
 * (@platformatic/kafka)"). The adapter is real and tested (test/kafka/platformatic.test.ts
 * and the shared port contract) so that the comparison measures a client we could ship.
 * It loads @platformatic/kafka only when used (library.ts): the production image lacks it.
 */
import type { KafkaClient, KafkaClientOptions } from '../types.js';
import { createPlatformaticAdmin } from './admin.js';
import { createPlatformaticConsumer } from './consumer.js';
import { createPlatformaticProducer } from './producer.js';
import { readTopicWithPlatformatic } from './read-topic.js';

export function createPlatformaticClient(options: KafkaClientOptions): KafkaClient {
  return {
    producer: () => createPlatformaticProducer(options),
    consumer: (consumerOptions) => createPlatformaticConsumer(options, consumerOptions),
    admin: () => createPlatformaticAdmin(options),
    readTopic: (topic, readOptions, onRecord) => readTopicWithPlatformatic(options, topic, readOptions, onRecord),
  };
}

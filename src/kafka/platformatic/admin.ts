/**
 * The port's admin over @platformatic/kafka's Admin (and a group-less Consumer for
 * ListOffsets: the Admin's listOffsets wants every partition named).
 * MEASUREMENT-ONLY (issue 14): see options.ts.
 */
import type { Admin, Consumer } from '@platformatic/kafka';
import type { KafkaAdmin, KafkaClientOptions, PartitionOffsets } from '../types.js';
import { hasProtocolError, toKafkaError } from './errors.js';
import { EARLIEST, LATEST, loadLibrary, type Library } from './library.js';
import { baseOptions } from './options.js';

export function createPlatformaticAdmin(options: KafkaClientOptions): KafkaAdmin {
  let library: Library | undefined;
  let admin: Admin | undefined;
  let offsets: Consumer | undefined;
  // Every call goes through `wrap`, which loads the library first (library.ts).
  const client = () => (admin ??= new library!.Admin(baseOptions(options, 'admin')));
  const reader = () => (offsets ??= new library!.Consumer({ ...baseOptions(options, 'admin-offsets'), groupId: `${options.clientId}-admin-offsets` }));
  const wrap = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      library ??= await loadLibrary();
      return await f();
    } catch (err) {
      throw toKafkaError(err, what);
    }
  };
  return {
    connect: () => wrap('Kafka admin could not connect', async () => void (await client().metadata({ topics: [] }))),
    async disconnect() {
      await Promise.allSettled([admin?.close(), offsets?.close()]);
      admin = undefined;
      offsets = undefined;
    },
    listTopics: () => wrap('Listing Kafka topics failed', () => client().listTopics()),
    createTopics: (topics) =>
      wrap('Creating Kafka topics failed', async () => {
        // One request per topic: partition counts and configs differ per topic, and a topic
        // that exists already (another process created it) is not an error.
        for (const t of topics) {
          try {
            await client().createTopics({ topics: [t.topic], partitions: t.partitions, replicas: t.replicationFactor, configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })) });
          } catch (err) {
            if (!hasProtocolError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
          }
        }
      }),
    topicMetadata: (topics) =>
      wrap('Reading Kafka topic metadata failed', async () => {
        const metadata = await client().metadata({ topics: [...topics], forceUpdate: true });
        return topics.map((topic) => ({ topic, partitions: (metadata.topics.get(topic)?.partitions ?? []).map((p, partition) => ({ partition, leader: p.leader })) }));
      }),
    topicOffsets: (topic) =>
      wrap(`Reading the offsets of ${topic} failed`, async () => {
        const [low, high] = await Promise.all([
          reader().listOffsets({ topics: [topic], timestamp: EARLIEST }),
          reader().listOffsets({ topics: [topic], timestamp: LATEST }),
        ]);
        return (high.get(topic) ?? []).map((h, partition): PartitionOffsets => ({ partition, low: String(low.get(topic)?.[partition] ?? 0n), high: String(h) }));
      }),
    describeCluster: () =>
      wrap('Describing the Kafka cluster failed', async () => {
        const m = await client().metadata({ topics: [], forceUpdate: true });
        return { clusterId: m.id, controller: m.controllerId >= 0 ? m.controllerId : null, brokers: [...m.brokers].map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port })) };
      }),
    deleteGroups: (groupIds) =>
      wrap('Deleting Kafka consumer groups failed', async () => {
        if (groupIds.length > 0) await client().deleteGroups({ groups: [...groupIds] });
      }),
  };
}

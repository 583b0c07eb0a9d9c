/** The port's admin client over kafkajs. */
import type { Kafka } from 'kafkajs';
import type { KafkaAdmin } from '../types.js';
import { kafkaCall } from './errors.js';

export function createKafkajsAdmin(kafka: Kafka): KafkaAdmin {
  const admin = kafka.admin();
  return {
    connect: () => kafkaCall(() => admin.connect()),
    disconnect: () => kafkaCall(() => admin.disconnect()),
    listTopics: () => kafkaCall(() => admin.listTopics()),
    async createTopics(topics) {
      // waitForLeaders: false — kafkajs' own wait retries only LEADER_NOT_AVAILABLE, while a
      // KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION until the new topic's metadata reaches
      // it (src/kafka/index.ts waits instead). A topic another process created meanwhile comes
      // back as TOPIC_ALREADY_EXISTS, which kafkajs answers with `false` when every error is
      // that one (kafkajs src/admin/index.js).
      await kafkaCall(() =>
        admin.createTopics({
          waitForLeaders: false,
          topics: topics.map((t) => ({
            topic: t.topic, numPartitions: t.partitions, replicationFactor: t.replicationFactor,
            configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
          })),
        }),
      );
    },
    async topicMetadata(topics) {
      const { topics: metadata } = await kafkaCall(() => admin.fetchTopicMetadata({ topics: [...topics] }));
      return metadata.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader })) }));
    },
    async topicOffsets(topic) {
      const offsets = await kafkaCall(() => admin.fetchTopicOffsets(topic));
      return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high }));
    },
    async describeCluster() {
      const { clusterId, controller, brokers } = await kafkaCall(() => admin.describeCluster());
      return { clusterId, controller, brokers: brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })) };
    },
    deleteGroups: async (groupIds) => {
      await kafkaCall(() => admin.deleteGroups([...groupIds]));
    },
  };
}

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KafkaJSConnectionError, type Message } from 'kafkajs';
import { unacknowledgedPartitions } from '../../src/kafka/kafkajs/producer.js';

// Pins the kafkajs 2.2.4 behaviour that the broker-failures drill ran into (docs/RELIABILITY.md,
// Findings): sendMessages keeps the answers of brokers that replied across its retries and
// retries only brokers without one. When a failed partition's leadership moves to a broker that
// already answered, the partition's records are never sent and the send still resolves.
// Driven through kafkajs' own sendMessages with a scripted cluster (two brokers, one of them
// killed during the first attempt): no timing, no broker. If a kafkajs upgrade fixes this, the
// first test fails — then the acknowledgement check stays as a guard, and this pin can go.
const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (deps: unknown) => (req: unknown) => Promise<{ topicName: string; partition: number }[]>;
const createRetry = require('kafkajs/src/retry/index.js') as (options: unknown) => unknown;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function scriptedCluster() {
  // Partition 0 led by broker 1, partition 1 by broker 2; broker 2 dies during the first send,
  // and the refreshed metadata names broker 1 leader of partition 1.
  let leaders: Record<number, number> = { 0: 1, 1: 2 };
  const produced: number[] = [];
  const broker = (nodeId: number) => ({
    nodeId,
    async produce({ topicData }: { topicData: { topic: string; partitions: { partition: number }[] }[] }) {
      if (nodeId === 2) throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED (broker 2 killed)');
      const partitions = topicData[0]!.partitions.map((p) => p.partition);
      produced.push(...partitions);
      return { topics: [{ topicName: topicData[0]!.topic, partitions: partitions.map((partition) => ({ partition, errorCode: 0, baseOffset: '0' })) }] };
    },
  });
  const brokers = new Map([[1, broker(1)], [2, broker(2)]]);
  const cluster = {
    async refreshMetadataIfNecessary() {},
    async refreshMetadata() {
      leaders = { 0: 1, 1: 1 };
    },
    async addMultipleTargetTopics() {},
    isConnected: () => true,
    removeBroker() {},
    findTopicPartitionMetadata: () => [0, 1].map((partitionId) => ({ partitionId, leader: leaders[partitionId] })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const out: Record<number, number[]> = {};
      for (const p of partitions.map(Number)) (out[leaders[p]!] ??= []).push(p);
      return out;
    },
    findBroker: async ({ nodeId }: { nodeId: number }) => brokers.get(Number(nodeId))!,
  };
  return { cluster, produced };
}

const eosManager = {
  acquireBrokerLock: async () => {},
  releaseBrokerLock: async () => {},
  isTransactional: () => false,
  getSequence: () => 0,
  updateSequence: () => {},
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
};

describe('kafkajs 2.2.4 producing across a leader change (why every send checks its acknowledgements)', () => {
  it('resolves a send whose failed partition moved to a broker that had already answered, without sending that partition', async () => {
    const { cluster, produced } = scriptedCluster();
    const send = createSendMessages({ logger: silent, cluster, partitioner: ({ message }: { message: Message }) => message.partition, eosManager, retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 2 }) });
    const messages: Message[] = [{ key: 'a', value: 'to p0', partition: 0 }, { key: 'b', value: 'to p1', partition: 1 }];
    const acks = await send({ acks: -1, topicMessages: [{ topic: 't', messages }] });
    expect(produced).toEqual([0]); // partition 1 was never written…
    expect(acks.map((a) => a.partition)).toEqual([0]); // …and the send resolved anyway.
    // The project's check names it, so the send is failed and retried instead of trusted.
    expect(unacknowledgedPartitions([{ topic: 't', messages }], acks, (m: Message) => m.partition)).toEqual(['t:1']);
  });
});

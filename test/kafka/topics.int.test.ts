import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConfigResourceTypes } from 'kafkajs';
import { ensureTopics, TOPIC_KINDS, TOPIC_SPECS } from '../../src/kafka/index.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

describe('topics created at start-up', () => {
  it('exist with the configured partitions, compacted exactly where the topic is a table', async () => {
    const metadata = await stack.admin.fetchTopicMetadata({ topics: TOPIC_KINDS.map((k) => stack.topics[k]) });
    for (const t of metadata.topics) expect(t.partitions, t.name).toHaveLength(3);
    const configs = await stack.admin.describeConfigs({
      includeSynonyms: false,
      resources: TOPIC_KINDS.map((k) => ({ type: ConfigResourceTypes.TOPIC, name: stack.topics[k], configNames: ['cleanup.policy'] })),
    });
    const policy = Object.fromEntries(configs.resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue]));
    for (const kind of TOPIC_KINDS) expect(policy[stack.topics[kind]], kind).toBe(TOPIC_SPECS[kind].compacted ? 'compact' : 'delete');
  });

  it('are left alone when they already exist (start-up is idempotent)', async () => {
    const admin = stack.kafka.admin();
    await admin.connect();
    const again = await ensureTopics(admin, { prefix: stack.config.KAFKA_TOPIC_PREFIX, partitions: 5, replicationFactor: 1 }).finally(() => admin.disconnect());
    expect(again).toEqual(stack.topics);
    const metadata = await stack.admin.fetchTopicMetadata({ topics: [stack.topics.appointments] });
    expect(metadata.topics[0]?.partitions).toHaveLength(3);
  });
});

import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOPIC_KINDS, TOPIC_SPECS, recordKey, topicConfig, topicNames, touchPointKey, valueSubject } from '../../src/kafka/topics.js';
import { chunkTopicRecords } from '../../src/kafka/index.js';

describe('the topic catalogue', () => {
  it('prefixes every topic so environments and test files never share one', () => {
    const a = topicNames('a.');
    const b = topicNames('b.');
    for (const kind of TOPIC_KINDS) {
      expect(a[kind].startsWith('a.')).toBe(true);
      expect(a[kind]).not.toBe(b[kind]);
    }
    expect(new Set(Object.values(a)).size).toBe(TOPIC_KINDS.length);
  });

  it('compacts the table topics (contacts on both lanes, calendar, touch-points) and only those', () => {
    const compacted = TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].compacted).sort();
    expect(compacted).toEqual(['calendar', 'contacts', 'contactsHistory', 'touchpoints']);
    expect(topicConfig(TOPIC_SPECS.contacts)).toContainEqual({ name: 'cleanup.policy', value: 'compact' });
    expect(topicConfig(TOPIC_SPECS.appointments)).toContainEqual({ name: 'cleanup.policy', value: 'delete' });
  });

  it('has a schema file for every topic except the DLQ, which carries other topics\' bytes', () => {
    for (const kind of TOPIC_KINDS) {
      const file = TOPIC_SPECS[kind].schemaFile;
      if (kind === 'dlq') expect(file).toBeNull();
      else expect(existsSync(new URL(`../../schemas/avro/${file}`, import.meta.url)), String(file)).toBe(true);
    }
  });

  it('keys records by tenant and Acme ID so one record\'s events stay on one partition', () => {
    expect(recordKey('t1', 'apt_9')).toBe('t1:apt_9');
    expect(touchPointKey('t1', 'usr_1', '2026-11-25', 'EMAIL')).toBe('t1:usr_1:2026-11-25:EMAIL');
    expect(valueSubject('x.acme.contacts.v1')).toBe('x.acme.contacts.v1-value');
  });
});

describe('chunkTopicRecords', () => {
  const msg = (bytes: number) => ({ key: 'k', value: Buffer.alloc(bytes) });

  it('splits a large write into requests under the byte limit, keeping every record in order', () => {
    const input = [{ topic: 'a', records: Array.from({ length: 10 }, () => msg(300)) }, { topic: 'b', records: Array.from({ length: 10 }, () => msg(300)) }];
    const chunks = chunkTopicRecords(input, 1_000);
    expect(chunks.length).toBeGreaterThan(5);
    const flattened = chunks.flatMap((c) => c.flatMap((t) => t.records.map(() => t.topic)));
    expect(flattened).toEqual([...Array(10).fill('a'), ...Array(10).fill('b')]);
    for (const chunk of chunks) {
      const bytes = chunk.flatMap((t) => t.records).reduce((n, m) => n + (m.value as Buffer).length, 0);
      expect(bytes).toBeLessThanOrEqual(1_000);
    }
  });

  it('keeps a small write in one request and sends an oversized record alone', () => {
    expect(chunkTopicRecords([{ topic: 'a', records: [msg(10), msg(10)] }])).toHaveLength(1);
    const chunks = chunkTopicRecords([{ topic: 'a', records: [msg(10), msg(5_000), msg(10)] }], 1_000);
    expect(chunks.map((c) => c[0]!.records.length)).toEqual([1, 1, 1]);
  });
});

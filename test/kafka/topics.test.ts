import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOPIC_KINDS, TOPIC_SPECS, recordKey, topicConfig, topicNames, touchPointKey, valueSubject } from '../../src/kafka/topics.js';

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

  it('compacts the table topics (contacts, calendar, touch-points) and only those', () => {
    const compacted = TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].compacted).sort();
    expect(compacted).toEqual(['calendar', 'contacts', 'touchpoints']);
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

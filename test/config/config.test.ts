import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { SETTINGS, loadConfig, renderEnvExample } from '../../src/config/index.js';

const KEY = Buffer.alloc(32, 3).toString('base64');
const minimal = { MASTER_KEYS: `k1:${KEY}` };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults when only the required keys are set', () => {
    const config = loadConfig(minimal);
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.SCHEMA_COMPATIBILITY).toBe('BACKWARD');
    expect(config.EDGE_PORT).toBe(3000);
    expect(config.MASTER_KEYS).toEqual([{ id: 'k1', key: Buffer.alloc(32, 3) }]);
  });

  it('parses lists and numbers from their environment strings', () => {
    const config = loadConfig({ ...minimal, KAFKA_BROKERS: 'a:9092, b:9093', KAFKA_PARTITIONS: '12' });
    expect(config.KAFKA_BROKERS).toEqual(['a:9092', 'b:9093']);
    expect(config.KAFKA_PARTITIONS).toBe(12);
  });

  it('stops with a message naming the missing required key and what it is for', () => {
    const err = configError({});
    expect(err.issues.map((i) => i.key)).toEqual(['MASTER_KEYS']);
    expect(err.message).toMatch(/MASTER_KEYS: is required \(Secret-encryption keys/);
  });

  it('names every bad key with what was expected and what it got', () => {
    const err = configError({ ...minimal, KAFKA_BROKERS: 'localhost', EDGE_PORT: '70000', SCHEMA_REGISTRY_URL: 'ftp://x', LOG_LEVEL: 'loud' });
    const byKey = Object.fromEntries(err.issues.map((i) => [i.key, i.message]));
    expect(Object.keys(byKey).sort()).toEqual(['EDGE_PORT', 'KAFKA_BROKERS', 'LOG_LEVEL', 'SCHEMA_REGISTRY_URL']);
    expect(byKey.KAFKA_BROKERS).toContain('expected host:port');
    expect(byKey.KAFKA_BROKERS).toContain('"localhost"');
    expect(byKey.SCHEMA_REGISTRY_URL).toContain('http(s) URL');
  });

  it('never echoes a secret value in its error', () => {
    const secret = 'k1:c2VjcmV0LXRoYXQtaXMtdG9vLXNob3J0';
    const err = configError({ MASTER_KEYS: secret });
    expect(err.message).toContain('MASTER_KEYS');
    expect(err.message).not.toContain('c2VjcmV0');
    expect(JSON.stringify(err)).not.toContain('c2VjcmV0');
  });

  it('rejects an encryption key that is not 32 bytes', () => {
    expect(configError({ MASTER_KEYS: `k1:${Buffer.alloc(16).toString('base64')}` }).message).toContain('32 bytes');
  });
});

describe('.env.example', () => {
  it('lists every setting with its default, exactly as SETTINGS declares them', () => {
    expect(readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')).toBe(renderEnvExample());
    expect(renderEnvExample()).toContain('KAFKA_BROKERS=127.0.0.1:9092');
    for (const key of Object.keys(SETTINGS)) expect(renderEnvExample()).toContain(`\n${key}=`);
  });
});

describe('operational tunables', () => {
  it('defaults to the values the benchmarks and drills ran with', () => {
    const c = loadConfig(minimal);
    expect([c.CONSUMER_SESSION_TIMEOUT_MS, c.CONSUMER_HEARTBEAT_INTERVAL_MS, c.CONSUMER_MAX_WAIT_MS, c.CONSUMER_PARTITIONS_IN_FLIGHT, c.CONSUMER_MAX_BYTES_PER_PARTITION]).toEqual([30_000, 3_000, 500, 3, 1_048_576]);
    expect([c.WEBHOOK_ACK_TIMEOUT_MS, c.EDGE_TENANT_CACHE_TTL_MS, c.CONSUMER_TENANT_CACHE_TTL_MS, c.SHUTDOWN_GRACE_MS]).toEqual([4_000, 2_000, 30_000, 10_000]);
  });

  // A generated matrix around each rule's boundary: valid exactly when the rule holds,
  // and a refusal names the key and the other setting it depends on.
  const rules: Array<{ key: string; other: string; rule: (v: number, o: number) => boolean; others: number[] }> = [
    { key: 'CONSUMER_HEARTBEAT_INTERVAL_MS', other: 'CONSUMER_SESSION_TIMEOUT_MS', rule: (hb, session) => hb * 3 <= session, others: [3_000, 10_000, 30_000, 45_000] },
    { key: 'CONSUMER_RETRY_MAX_MS', other: 'CONSUMER_RETRY_INITIAL_MS', rule: (max, initial) => max >= initial, others: [1, 200, 5_000] },
    { key: 'WEBHOOK_FETCH_DEADLINE_MS', other: 'WEBHOOK_ACK_TIMEOUT_MS', rule: (deadline, ack) => deadline < ack, others: [1_000, 3_000, 4_999] },
  ];
  const cases = rules.flatMap((r) => r.others.flatMap((o) => {
    const edge = r.key === 'CONSUMER_HEARTBEAT_INTERVAL_MS' ? Math.floor(o / 3) : o;
    return [1, edge - 1, edge, edge + 1, o * 2].filter((v) => v > 0).map((v) => ({ ...r, value: v, otherValue: o }));
  }));

  it.each(cases)('$key=$value with $other=$otherValue is accepted exactly when the rule between them holds', ({ key, other, rule, value, otherValue }) => {
    const env = { ...minimal, [key]: String(value), [other]: String(otherValue) };
    if (rule(value, otherValue)) {
      expect(loadConfig(env)[key as keyof typeof SETTINGS]).toBe(value);
    } else {
      const err = configError(env);
      expect(err.issues.map((i) => i.key)).toEqual([key]);
      expect(err.message).toContain(other);
    }
  });

  it("refuses a webhook ack timeout Acme would not wait for (5 s and more)", () => {
    for (const ms of [5_000, 5_001, 60_000]) expect(configError({ ...minimal, WEBHOOK_ACK_TIMEOUT_MS: String(ms), WEBHOOK_FETCH_DEADLINE_MS: '1000' }).issues.map((i) => i.key)).toEqual(['WEBHOOK_ACK_TIMEOUT_MS']);
    expect(loadConfig({ ...minimal, WEBHOOK_ACK_TIMEOUT_MS: '4999' }).WEBHOOK_ACK_TIMEOUT_MS).toBe(4_999);
  });
});

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

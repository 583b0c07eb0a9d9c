import { describe, expect, it } from 'vitest';
import { parseCli } from '../../sandbox/src/cli-options.js';
import { DEFAULT_FAULTS } from '../../sandbox/src/index.js';

describe('sandbox CLI flags', () => {
  it('maps every fault flag onto the fault switches', () => {
    const cfg = parseCli([
      '--seed', '42', '--duplicate', '0.1', '--reorder', '0.2', '--reorder-window', '7', '--reorder-max-hold-ms', '300',
      '--late', '0.3', '--late-ms', '900', '--lose', '0.01', '--outage-5xx', '0.02', '--refuse', '0.03', '--lost-answer', '0.05',
      '--slow-ms', '250', '--slow', '0.5', '--bad-data', '0.04', '--bad-data-kinds', 'unknown_contact,malformed_webhook',
    ]);
    expect(cfg.sandbox.faults).toEqual({
      seed: 42, duplicate: 0.1, reorder: 0.2, reorderWindow: 7, reorderMaxHoldMs: 300, late: 0.3, lateMs: 900, lose: 0.01,
      outage5xx: 0.02, refuse: 0.03, lostAnswer: 0.05, slowMs: 250, slow: 0.5, badData: 0.04, badDataKinds: ['unknown_contact', 'malformed_webhook'],
    });
    expect(Object.keys(cfg.sandbox.faults ?? {}).sort()).toEqual(Object.keys(DEFAULT_FAULTS).sort());
  });

  it('maps listener, generator, auth, rate-limit and delivery flags and defaults to port 4010 on 127.0.0.1', () => {
    const defaults = parseCli([]);
    expect(defaults).toMatchObject({ port: 4010, host: '127.0.0.1', truthFile: null });
    expect(defaults.sandbox.rateLimit).toEqual({ capacity: 100, refillPerSecond: 20 });
    const cfg = parseCli(['--port', '0', '--accounts', '3', '--users', '5', '--rate', '50', '--events', '10', '--payload', 'thin', '--webhook-url', 'http://127.0.0.1:9/h', '--redirect-uri', 'http://a/cb', '--redirect-uri', 'http://b/cb', '--token-ttl', '5', '--no-rate-limit', '--retry-base-ms', '10', '--max-attempts', '3', '--truth-file', '/tmp/t.json']);
    expect(cfg.port).toBe(0);
    expect(cfg.generator).toMatchObject({ accounts: 3, users: 5, rate: 50, events: 10, webhookPayload: 'thin', webhookUrl: 'http://127.0.0.1:9/h', redirectUris: ['http://a/cb', 'http://b/cb'] });
    expect(cfg.sandbox.auth?.accessTokenTtlSeconds).toBe(5);
    expect(cfg.sandbox.rateLimit).toBeNull();
    expect(cfg.sandbox.webhooks).toMatchObject({ retryBaseMs: 10, maxAttempts: 3 });
    expect(cfg.truthFile).toBe('/tmp/t.json');
  });

  it('rejects probabilities above 1 and unknown bad-data kinds', () => {
    expect(() => parseCli(['--lose', '1.5'])).toThrow();
    expect(() => parseCli(['--bad-data-kinds', 'gremlins'])).toThrow();
  });
});

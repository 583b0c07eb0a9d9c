import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerHealthRoutes } from '../../src/http/health.js';

function appWith(checks: Record<string, () => Promise<unknown>>, timeoutMs = 200) {
  const app = Fastify();
  registerHealthRoutes(app, checks, { timeoutMs });
  return app;
}

describe('health routes', () => {
  it('say the process is alive on /healthz whatever its dependencies do', async () => {
    const app = appWith({ postgres: () => Promise.reject(new Error('connection refused')) });
    const res = await app.inject('/healthz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('answer ready when every check passes', async () => {
    const res = await appWith({ kafka: async () => 'ok', postgres: async () => 1 }).inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { kafka: 'ok', postgres: 'ok' } });
  });

  it('answer 503 naming each dependency that is down or too slow', async () => {
    const res = await appWith({
      kafka: async () => 'ok',
      postgres: () => Promise.reject(new Error('connection refused')),
      registry: () => new Promise(() => undefined),
    }).inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      status: 'not_ready',
      checks: { kafka: 'ok', postgres: 'down: connection refused', registry: 'down: registry: no answer within 200 ms' },
    });
  });
});

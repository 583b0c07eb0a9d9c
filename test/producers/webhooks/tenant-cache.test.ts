import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors/index.js';
import { createTenantCache } from '../../../src/producers/webhooks/tenant-cache.js';
import type { TenantWithSecrets } from '../../../src/tenants/types.js';

function fakeTenant(id: string, secret: string): TenantWithSecrets {
  return { id, secrets: { webhookSecrets: [secret] } } as unknown as TenantWithSecrets;
}

function setup() {
  let clock = 0;
  let secret = 'whsec_a';
  const loads: string[] = [];
  const cache = createTenantCache({
    load: async (id) => {
      loads.push(id);
      return id === 'missing' ? undefined : fakeTenant(id, secret);
    },
    ttlMs: 5_000,
    minRefreshMs: 1_000,
    now: () => clock,
  });
  return { cache, loads, advance: (ms: number) => (clock += ms), rotate: (s: string) => (secret = s) };
}

describe('the tenant secrets cache', () => {
  it('reads the repository once per tenant within the TTL and again after it', async () => {
    const { cache, loads, advance, rotate } = setup();
    await cache.get('t1');
    rotate('whsec_b');
    advance(4_999);
    expect((await cache.get('t1'))?.secrets.webhookSecrets).toEqual(['whsec_a']);
    advance(1);
    expect((await cache.get('t1'))?.secrets.webhookSecrets).toEqual(['whsec_b']);
    expect(loads).toEqual(['t1', 't1']);
  });

  it('remembers unknown tenants too', async () => {
    const { cache, loads } = setup();
    expect(await cache.get('missing')).toBeUndefined();
    expect(await cache.get('missing')).toBeUndefined();
    expect(loads).toEqual(['missing']);
  });

  it('refreshes on demand at once, but at most once per minimum interval', async () => {
    const { cache, loads, advance, rotate } = setup();
    await cache.get('t1');
    rotate('whsec_b');
    expect((await cache.refresh('t1'))?.secrets.webhookSecrets).toEqual(['whsec_b']);
    rotate('whsec_c');
    advance(999);
    expect((await cache.refresh('t1'))?.secrets.webhookSecrets).toEqual(['whsec_b']);
    advance(1);
    expect((await cache.refresh('t1'))?.secrets.webhookSecrets).toEqual(['whsec_c']);
    expect(loads).toEqual(['t1', 't1', 't1']);
  });

  it('shares one load between concurrent callers', async () => {
    const { cache, loads } = setup();
    await Promise.all([cache.get('t1'), cache.get('t1'), cache.get('t1')]);
    expect(loads).toEqual(['t1']);
  });

  it('reports an unreachable database as transient', async () => {
    const cache = createTenantCache({ load: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) });
    await expect(cache.get('t1')).rejects.toMatchObject({ code: ERROR_CODES.DATABASE_UNAVAILABLE, retriable: true });
  });
});

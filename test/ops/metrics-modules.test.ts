import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, type Registry } from '../../src/metrics/index.js';
import { createEventMetrics, EVENTS_PUBLISHED } from '../../src/metrics/events.js';
import { createFreshnessMetrics, TENANT_LAST_SYNCED } from '../../src/metrics/freshness.js';
import { CONSUMER_RUNNER_READY, registerRunnerMetrics } from '../../src/metrics/runners.js';

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return {};
  const { values: samples } = await metric.get();
  return Object.fromEntries(samples.map((s) => [Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).sort().join(','), s.value]));
}

const registry = () => createMetricsRegistry({ service: 'test', collectDefault: false });

describe('per-tenant freshness', () => {
  it('records the received_at of the newest synced event per tenant and flow, in seconds', async () => {
    const r = registry();
    const freshness = createFreshnessMetrics(r);
    freshness.synced('calendar', [{ tenant_id: 't-a', received_at: 1_000_000 }, { tenant_id: 't-a', received_at: 3_000_000 }, { tenant_id: 't-b', received_at: 2_000_000 }]);
    freshness.synced('touchpoints', [{ tenant_id: 't-a', received_at: 5_000_000 }]);
    expect(await values(r, TENANT_LAST_SYNCED)).toEqual({ 'flow=calendar,tenant=t-a': 3000, 'flow=calendar,tenant=t-b': 2000, 'flow=touchpoints,tenant=t-a': 5000 });
  });

  it('never moves back for an older event (a replay or a reordered delivery) and ignores values without tenant or time', async () => {
    const r = registry();
    const freshness = createFreshnessMetrics(r);
    freshness.synced('calendar', [{ tenant_id: 't-a', received_at: 9_000 }]);
    freshness.synced('calendar', [{ tenant_id: 't-a', received_at: 4_000 }, null, { tenant_id: 't-c' }, { received_at: 1 }]);
    expect(await values(r, TENANT_LAST_SYNCED)).toEqual({ 'flow=calendar,tenant=t-a': 9 });
  });
});

describe('published events', () => {
  it('are counted by topic kind and lower-case source', async () => {
    const r = registry();
    const events = createEventMetrics(r);
    events.published([
      { kind: 'contacts', value: { source: 'WEBHOOK' } },
      { kind: 'contacts', value: { source: 'WEBHOOK' } },
      { kind: 'activities', value: { source: 'POLL' } },
    ]);
    expect(await values(r, EVENTS_PUBLISHED)).toEqual({ 'source=webhook,topic=contacts': 2, 'source=poll,topic=activities': 1 });
  });
});

describe('consumer runner readiness', () => {
  it('is read from the runners at every scrape, per consumer group', async () => {
    const r = registry();
    let calendarReady = false;
    registerRunnerMetrics(r, [{ groupId: 'g.calendar', isReady: () => calendarReady }]);
    registerRunnerMetrics(r, [{ groupId: 'g.touchpoints', isReady: () => true }, { groupId: 'g.touchpoints', isReady: () => true }]);
    expect(await values(r, CONSUMER_RUNNER_READY)).toEqual({ 'group=g.calendar': 0, 'group=g.touchpoints': 2 });
    calendarReady = true;
    expect(await values(r, CONSUMER_RUNNER_READY)).toEqual({ 'group=g.calendar': 1, 'group=g.touchpoints': 2 });
    expect(await r.metrics()).toContain('acme_sync_consumer_runner_ready{group="g.calendar",service="test"} 1');
  });
});

/**
 * Per-tenant freshness: how old is the newest change we have synced for a tenant?
 *
 * Exported as a timestamp, not as "seconds since" (a gauge that would have to be
 * updated continuously): acme_sync_tenant_last_synced_timestamp_seconds{tenant, flow}
 * is the `received_at` (when the edge received or fetched the change) of the newest
 * event a flow wrote or skipped as already applied for the tenant; the dashboard and
 * the alert compute `time() - ...`. received_at rather than the commit time, so a
 * pipeline that is busy with an old backlog shows as stale too.
 * See https://prometheus.io/docs/practices/instrumentation/#timestamps-not-time-since
 *
 * The label is the tenant ID: bounded by the configured tenants, like the tenants
 * table itself. It never moves backwards (a replay of old events or a reordered
 * delivery does not make a tenant look older than it is).
 */
import { gauge, type Registry } from './index.js';

export const TENANT_LAST_SYNCED = 'acme_sync_tenant_last_synced_timestamp_seconds';

/** What the freshness gauge reads from a decoded input event (the Avro event envelope). */
export interface SyncedEvent {
  tenant_id?: unknown;
  received_at?: unknown;
}

export interface FreshnessMetrics {
  /** Events a flow committed (written, or skipped because already applied): not DLQ records. */
  synced(flow: string, events: Iterable<SyncedEvent | null | undefined>): void;
}

export function createFreshnessMetrics(registry: Registry): FreshnessMetrics {
  const lastSynced = gauge(registry, {
    name: TENANT_LAST_SYNCED,
    help: 'received_at (Unix seconds) of the newest event synced for the tenant by the flow; freshness = time() - this',
    labelNames: ['tenant', 'flow'] as const,
  });
  const newest = new Map<string, number>();
  return {
    synced(flow, events) {
      const batch = new Map<string, number>();
      for (const event of events) {
        if (typeof event?.tenant_id !== 'string' || typeof event.received_at !== 'number') continue;
        batch.set(event.tenant_id, Math.max(batch.get(event.tenant_id) ?? 0, event.received_at));
      }
      for (const [tenant, receivedAt] of batch) {
        const key = `${tenant}\u0000${flow}`;
        if (receivedAt <= (newest.get(key) ?? -Infinity)) continue;
        newest.set(key, receivedAt);
        lastSynced.set({ tenant, flow }, receivedAt / 1000);
      }
    },
  };
}

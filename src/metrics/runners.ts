/**
 * Consumer runners' state, read when Prometheus scrapes (a collect callback), so the
 * value is never stale: acme_sync_consumer_runner_ready{group} is the number of this
 * process's runners of the group that joined it and are not stopped (1 or 0 with one
 * runner per group). Summed over the consumer processes it is the number of ready
 * members of a group; the alert AcmeSyncConsumerGroupWithoutMembers fires when that
 * sum is 0, or when the processes are down (see ops/prometheus/alerts.yml).
 */
import { gauge, type Registry } from './index.js';

export const CONSUMER_RUNNER_READY = 'acme_sync_consumer_runner_ready';

/** What the gauge needs of a runner (ConsumerRunner from src/consumers/runtime fits). */
export interface ObservedRunner {
  readonly groupId: string;
  isReady(): boolean;
}

const observedBy = new WeakMap<Registry, ObservedRunner[]>();

/** Observe these runners in the registry; calling it again with other runners adds them. */
export function registerRunnerMetrics(registry: Registry, runners: readonly ObservedRunner[]): void {
  const known = observedBy.get(registry);
  if (known) {
    known.push(...runners);
    return;
  }
  const observed = [...runners];
  observedBy.set(registry, observed);
  const ready = gauge(registry, { name: CONSUMER_RUNNER_READY, help: 'Consumer runners of the group in this process that joined it and are not stopped', labelNames: ['group'] as const });
  // prom-client calls `collect` before every scrape; the helper has no option for it.
  Object.assign(ready, {
    collect() {
      ready.reset();
      for (const runner of observed) ready.inc({ group: runner.groupId }, runner.isReady() ? 1 : 0);
    },
  });
}

/**
 * Prometheus metrics. The registry is passed in (never the global one) so tests and
 * several components in one process do not collide; get-or-create helpers let two
 * modules ask for the same metric. Label values must come from bounded sets
 * (topic kinds, outcomes, stages, tenant IDs of configured tenants) — never IDs of
 * records. Names follow https://prometheus.io/docs/practices/naming/.
 */
import client, { type Counter, type Gauge, type Histogram, type Registry } from 'prom-client';

export type { Registry };

export function createMetricsRegistry(defaults: { service: string; collectDefault?: boolean }): Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service: defaults.service });
  if (defaults.collectDefault !== false) client.collectDefaultMetrics({ register: registry }); // standard process_* and nodejs_* names, as Node dashboards expect
  return registry;
}

interface Spec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export function counter<L extends string>(registry: Registry, spec: Spec<L>): Counter<L> {
  return (registry.getSingleMetric(spec.name) as Counter<L> | undefined) ?? new client.Counter({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] });
}

export function gauge<L extends string>(registry: Registry, spec: Spec<L>): Gauge<L> {
  return (registry.getSingleMetric(spec.name) as Gauge<L> | undefined) ?? new client.Gauge({ ...spec, labelNames: spec.labelNames ?? [], registers: [registry] });
}

/** Seconds-based buckets from 1 ms to 30 s, for request and processing latencies. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function histogram<L extends string>(registry: Registry, spec: Spec<L> & { buckets?: number[] }): Histogram<L> {
  return (
    (registry.getSingleMetric(spec.name) as Histogram<L> | undefined) ??
    new client.Histogram({ ...spec, labelNames: spec.labelNames ?? [], buckets: spec.buckets ?? LATENCY_BUCKETS, registers: [registry] })
  );
}

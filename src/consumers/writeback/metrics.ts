/** The write-back flow's metrics (docs/OPERATIONS.md; bounded labels). */
import { counter, histogram, type Registry } from '../../metrics/index.js';
import { CONFLICT_POLICIES } from '../../tenants/types.js';

/** Outcomes of a calendar change: `rejected` went to the DLQ (422/403/404), `retried` counts Acme calls retried. */
export const WRITEBACK_OUTCOMES = ['applied', 'conflict', 'echo_suppressed', 'duplicate', 'stale', 'not_synced', 'disabled', 'rejected', 'retried'] as const;
export type WritebackOutcome = (typeof WRITEBACK_OUTCOMES)[number];

export function createWritebackMetrics(registry: Registry) {
  const writebacks = counter(registry, { name: 'acme_sync_writebacks_total', help: 'Calendar changes written back to Acme, by outcome', labelNames: ['outcome'] as const });
  // From the start, so rate() and the rejection alert see every series.
  for (const outcome of WRITEBACK_OUTCOMES) writebacks.inc({ outcome }, 0);
  const conflicts = counter(registry, { name: 'acme_sync_writeback_conflicts_total', help: 'Write-back conflicts (Acme changed since the calendar saw it), by policy and winner', labelNames: ['policy', 'winner'] as const });
  for (const policy of CONFLICT_POLICIES) for (const winner of ['acme', 'calendar']) conflicts.inc({ policy, winner }, 0);
  return {
    writebacks,
    conflicts,
    ackSeconds: histogram(registry, {
      name: 'acme_sync_writeback_ack_seconds',
      help: "From a user's edit in the calendar (changed_at) to Acme's acknowledgement of the write",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    }),
  };
}
export type WritebackMetrics = ReturnType<typeof createWritebackMetrics>;

/**
 * Drill 2 — Acme delivers webhooks twice and out of order, and 1 % of the created
 * appointments and activities are bad (no start, or a contact Acme does not know):
 * every bad one in the DLQ exactly once, no good one; then the DLQ is replayed twice
 * (src/dlq replayDlq, as `acme-sync dlq replay` does) and every tenant reconciled again
 * (re-reading every bad record), and neither the calendar, the touch-point counts nor
 * the DLQ (records, not only IDs) may move.
 */
import { readDlq, replayDlq } from '../src/dlq/index.js';

import type { Drill } from './support/drill.js';
import { drainTimeout, runGeneratorDrill } from './support/generator-drill.js';
import { compareWithTruth } from './support/truth.js';

export const webhookFaults: Drill = {
  name: 'webhook-faults',
  title: 'Webhooks duplicated and reordered, 1 % bad records, DLQ replayed twice',
  run: (ctx) => runGeneratorDrill({
    name: 'webhook-faults',
    seed: 202,
    sizes: { ci: { events: 1_500, rate: 0, accounts: 3, days: 4 }, full: { events: 100_000, rate: 0, accounts: 10, days: 30 } },
    faults: { duplicate: 0.2, reorder: 0.2, reorderMaxHoldMs: 300, badData: 0.01, badDataKinds: ['missing_starts_at', 'unknown_contact'] },
    expectedDlq: (truth) => new Set(truth.bad_records.filter((b) => b.kind === 'missing_starts_at' || b.kind === 'unknown_contact').map((b) => b.id)),
    async after({ stack, pipeline, run, truth, first, ctx, dlqIds }) {
      const producer = stack.kafka.producer();
      await producer.connect();
      const before = await dlqIds();
      const dlqSize = async () => (await readDlq(stack.kafka, stack.topics.dlq)).length;
      const recordsBefore = await dlqSize();
      const notes: string[] = [];
      let ok = true;
      try {
        for (const round of [1, 2, 3]) {
          if (round === 3) {
            // A reconciliation re-reads every bad record (issue 12: the DLQ grew on each pass).
            for (const a of run.accounts) await pipeline.poller.reconcileTenant(a.account_id);
            await pipeline.drained(drainTimeout(ctx.size));
            const cmp = await compareWithTruth(stack.pool, truth);
            const n = await dlqSize();
            ok &&= n === recordsBefore && cmp.lost === first.lost && cmp.duplicated === first.duplicated && cmp.wrong === first.wrong;
            notes.push(`reconciled again: ${n} DLQ records (${recordsBefore} before)`);
            continue;
          }
          const records = await readDlq(stack.kafka, stack.topics.dlq);
          const report = await replayDlq(records, {
            producer, pool: stack.pool, dlqTopic: stack.topics.dlq, again: true,
            allowedTopics: new Set([stack.topics.appointments, stack.topics.contacts, stack.topics.activities]),
          });
          await pipeline.drained(drainTimeout(ctx.size));
          const cmp = await compareWithTruth(stack.pool, truth);
          const after = await dlqIds();
          const unchanged = cmp.lost === first.lost && cmp.duplicated === first.duplicated && cmp.wrong === first.wrong
            && cmp.calendarRows === first.calendarRows && after.size === before.size && [...after].every((id) => before.has(id));
          ok &&= unchanged && report.byOutcome.replayed > 0 && (await dlqSize()) === recordsBefore;
          notes.push(`replay ${round}: ${report.byOutcome.replayed} replayed, counts ${unchanged ? 'unchanged' : 'CHANGED'} (lost ${cmp.lost}, duplicated ${cmp.duplicated}, wrong ${cmp.wrong}, ${after.size} distinct ids in the DLQ)`);
        }
      } finally {
        await producer.disconnect();
      }
      return { ok, note: notes.join('; ') };
    },
  }, ctx),
};

/**
 * Drill 4 — Acme's API down mid-stream (every /v1 request answered 5xx) while 5 % of
 * the webhooks are lost: enrichment retries through the outage, and polling /
 * reconciliation afterwards must find every change the lost webhooks hid — 0 lost.
 */
import type { Drill } from './support/drill.js';
import { runGeneratorDrill, waitForProgress } from './support/generator-drill.js';
import { sleep } from './support/stack.js';

const OUTAGE_MS = { ci: 10_000, full: 60_000 };

export const acmeDown: Drill = {
  name: 'acme-down',
  title: "Acme's API down (5xx) mid-stream, 5 % of webhooks lost",
  run: (ctx) => runGeneratorDrill({
    name: 'acme-down',
    seed: 404,
    sizes: { ci: { events: 800, rate: 25, accounts: 3, days: 4 }, full: { events: 10_000, rate: 50, accounts: 6, days: 14 } },
    faults: { lose: 0.05 },
    async midStream(p, run) {
      await waitForProgress(run, 0.3);
      const ms = OUTAGE_MS[ctx.size];
      p.sandbox.faults.set({ outage5xx: 1 });
      // A poll pass during the outage must fail (and be retried by the next pass), not publish half a page.
      const during = await p.poller.pollTenant(run.accounts[0]!.account_id);
      await sleep(ms);
      p.sandbox.faults.set({ outage5xx: 0 });
      return `every Acme API request answered 5xx for ${ms / 1000} s (a poll pass during it: ${during.error ? 'failed, as it should' : 'did not fail'}); 5 % of webhooks lost`;
    },
  }, ctx),
};

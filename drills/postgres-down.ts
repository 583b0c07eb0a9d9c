/**
 * Drill 3 — PostgreSQL unreachable mid-stream: the pipeline reaches PostgreSQL through
 * a TCP proxy the drill takes down (the shared server is never touched). Consumers
 * retry their batch without limit, the edge answers 5xx so Acme redelivers; after
 * the outage everything must be written and nothing may be in the DLQ.
 */
import { startTcpProxy } from '../test/consumers/support/tcp-proxy.js';
import type { Drill } from './support/drill.js';
import { runGeneratorDrill, waitForProgress } from './support/generator-drill.js';
import { sleep } from './support/stack.js';

const OUTAGE_MS = { ci: 10_000, full: 60_000 };

export const postgresDown: Drill = {
  name: 'postgres-down',
  title: 'PostgreSQL unreachable (proxy down) mid-stream',
  run: (ctx) => runGeneratorDrill({
    name: 'postgres-down',
    checkOutputs: true,
    seed: 303,
    sizes: { ci: { events: 800, rate: 25, accounts: 3, days: 4 }, full: { events: 10_000, rate: 50, accounts: 6, days: 14 } },
    // Deliveries keep being retried through the outage (Acme's own retry schedule is longer).
    maxDeliveryAttempts: 1_000,
    async databaseUrl(stack) {
      const target = new URL(stack.config.DATABASE_URL);
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      const url = new URL(stack.config.DATABASE_URL);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      current = proxy;
      return { url: url.toString(), close: () => proxy.close() };
    },
    async midStream(_p, run) {
      await waitForProgress(run, 0.3);
      const ms = OUTAGE_MS[ctx.size];
      ctx.log(`  postgres-down: proxy down for ${ms / 1000} s at ${run.status().events_done} events`);
      await current!.down();
      await sleep(ms);
      await current!.up();
      ctx.log(`  postgres-down: proxy up at ${run.status().events_done} events`);
      return `PostgreSQL unreachable for ${ms / 1000} s from ${Math.round(0.3 * run.status().events_total)} events on`;
    },
  }, ctx),
};

let current: Awaited<ReturnType<typeof startTcpProxy>> | undefined;

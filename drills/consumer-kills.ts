/**
 * Drill 1 — consumer kills: three `acme-sync consumers` processes in one group per
 * flow on 6-partition topics while the generator's webhooks flow through the edge;
 * every N seconds one random consumer is SIGKILLed and started again. The offsets
 * live in PostgreSQL with the writes (one transaction), so a kill mid-batch must
 * neither lose nor double-count anything.
 */
import { startConsumerProcesses } from './support/consumer-processes.js';
import type { Drill, DrillContext, DrillResult } from './support/drill.js';
import { startDrillPipeline } from './support/pipeline.js';
import { childEnv, createDrillStack, sleep } from './support/stack.js';
import { compareOutputs } from './support/outputs.js';
import { compareWithTruth } from './support/truth.js';
import { readDlq } from '../src/dlq/index.js';

const SIZES = {
  ci: { events: 1_000, rate: 50, everyMs: 4_000, minKills: 5, accounts: 3, days: 4 },
  full: { events: 100_000, rate: 300, everyMs: 15_000, minKills: 20, accounts: 10, days: 30 },
};

export const consumerKills: Drill = {
  name: 'consumer-kills',
  title: 'Consumer processes SIGKILLed and restarted',
  async run(ctx: DrillContext): Promise<DrillResult> {
    const size = SIZES[ctx.size];
    const started = Date.now();
    const stack = await createDrillStack(ctx.env);
    const pipeline = await startDrillPipeline(stack, {
      consumers: 'none',
      sandbox: { seed: 101, rateLimit: null, webhooks: { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: 30 } },
    });
    const consumers = await startConsumerProcesses(3, (port) => childEnv(stack, { CONSUMER_PORT: String(port), LOG_LEVEL: 'error' }));
    let kills = 0;
    try {
      const run = pipeline.sandbox.startGenerator({
        seed: 101, accounts: size.accounts, users: 3, contacts: 10, events: size.events, rate: size.rate, days: size.days,
        webhookUrl: `${pipeline.edgeUrl}/webhooks/acme/{account_id}`, autoStart: false,
      });
      await pipeline.connect(run);
      run.start();
      let generating = true;
      const truthP = run.done.finally(() => (generating = false));
      while (generating || kills < size.minKills) {
        await sleep(size.everyMs);
        const victim = Math.floor(Math.random() * consumers.count);
        await consumers.kill(victim, 500);
        kills++;
        ctx.log(`  ${this.name}: SIGKILL consumer ${victim} (${kills})${generating ? '' : ' after the generator finished'}`);
      }
      const truth = await truthP;
      await pipeline.settle(run, ctx.size === 'ci' ? 120_000 : 900_000);
      const cmp = await compareWithTruth(stack.pool, truth);
      for (const e of cmp.examples) ctx.log(`    ${e}`);
      // Every written row's output reached its topic as the table holds it (issue 14: the outbox).
      const outputs = await compareOutputs(stack);
      for (const e of outputs.examples) ctx.log(`    ${e}`);
      const dlq = await readDlq(stack.kafka, stack.topics.dlq);
      const unexpected = consumers.unexpectedExits();
      return {
        drill: this.name, events: size.events, lost: cmp.lost + outputs.lost, duplicated: cmp.duplicated + outputs.duplicated, wrong: cmp.wrong + outputs.wrong, dlqExpected: 0, dlqActual: dlq.length,
        durationMs: Date.now() - started, extraOk: unexpected === 0 && kills >= size.minKills && outputs.outboxLeft === 0,
        notes: `3 consumer processes, ${stack.config.KAFKA_PARTITIONS} partitions, ${kills} SIGKILLs every ${size.everyMs / 1000} s (restart after 0.5 s); ${cmp.calendarRows} calendar rows, ${cmp.touchPoints} touch-points; outputs: ${outputs.checked} keys equal to their rows (${outputs.lost} missing, ${outputs.wrong} differ, ${outputs.duplicated} extra, ${outputs.outboxLeft} left in the outbox); ${unexpected} unexpected exits`,
      };
    } finally {
      await consumers.stop();
      await pipeline.close();
      await stack.close();
    }
  },
};

/**
 * Drill 6 — broker failures on a three-node KRaft cluster of the drill's own
 * (support/kafka-cluster.ts; replication 3, min.insync.replicas 2): mid-stream the
 * leader of appointments partition 0 is killed -9 and started again later, then
 * another broker gets a hard restart (kill -9, start at once). The edge answers 200
 * only after acks=all, so no acknowledged webhook may be lost. The cluster is
 * stopped and deleted at the end.
 */
import type { Drill, DrillContext, DrillResult } from './support/drill.js';
import { runGeneratorDrill, waitForProgress } from './support/generator-drill.js';
import { startKafkaCluster } from './support/kafka-cluster.js';
import { sleep } from './support/stack.js';

const DOWN_MS = { ci: 10_000, full: 30_000 };

export const brokerFailures: Drill = {
  name: 'broker-failures',
  title: 'Partition leader killed -9, then a broker hard-restarted (own 3-node KRaft cluster)',
  async run(ctx: DrillContext): Promise<DrillResult> {
    const cluster = await startKafkaCluster(ctx.log);
    try {
      return await runGeneratorDrill({
        name: 'broker-failures',
        // Every written row's latest output must be on its topic as the table holds it. This
        // check found kafkajs resolving a send without one partition's records after a leader
        // change (src/kafka/index.ts, unacknowledgedPartitions): the producers now verify it.
        checkOutputs: true,
        seed: 606,
        sizes: { ci: { events: 800, rate: 20, accounts: 3, days: 4 }, full: { events: 10_000, rate: 50, accounts: 6, days: 14 } },
        maxDeliveryAttempts: 1_000,
        stackExtra: { KAFKA_REPLICATION_FACTOR: '3' },
        async midStream(p, run) {
          await waitForProgress(run, 0.25);
          const topic = `${p.topics.appointments}`;
          const leader = await cluster.leaderOf(topic, 0);
          ctx.log(`  broker-failures: kill -9 node ${leader} (leader of ${topic}/0) at ${run.status().events_done} events`);
          await cluster.kill(leader);
          const killedAt = Date.now();
          let newLeader = leader;
          while (newLeader === leader && Date.now() - killedAt < DOWN_MS[ctx.size] * 3) {
            await sleep(500);
            newLeader = await cluster.leaderOf(topic, 0).catch(() => leader);
          }
          const electedMs = Date.now() - killedAt;
          await sleep(Math.max(0, DOWN_MS[ctx.size] - electedMs));
          cluster.start(leader);
          await cluster.waitHealthy();
          await waitForProgress(run, 0.6);
          const other = [1, 2, 3].find((n) => n !== leader)!;
          ctx.log(`  broker-failures: hard restart of node ${other} at ${run.status().events_done} events`);
          await cluster.kill(other);
          cluster.start(other);
          await cluster.waitHealthy();
          return `leader node ${leader} of appointments/0 killed -9 for ${DOWN_MS[ctx.size] / 1000} s (new leader: node ${newLeader} after ${(electedMs / 1000).toFixed(1)} s), then node ${other} killed -9 and restarted at once`;
        },
      }, { ...ctx, env: { ...ctx.env, KAFKA_BROKERS: cluster.brokers.join(',') } });
    } finally {
      await cluster.destroy();
    }
  },
};

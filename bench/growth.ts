/**
 * Benchmark 4 — growth: consumer throughput at 1, 10, 100 and 1,000 tenants; with
 * batches of ~1, ~100 and ~1,000 records; with 1, 2 and 3 `acme-sync consumers`
 * processes in one group; and the RSS of those processes under sustained load.
 *
 * Batch size: kafkajs' maxBytesPerPartition caps a fetch, but Kafka always returns
 * whole producer batches, so each backlog is produced in sends of the batch size
 * (6 partitions: 6 × size records per send) and consumed with maxBytesPerPartition
 * ≈ size × record bytes. The table shows the records per batch actually seen.
 */
import type { ChildProcess } from 'node:child_process';
import type { Benchmark, BenchOptions, BenchResult } from './support/bench.js';
import { rssMiB, startConsumersProcess, stopProcess } from './support/children.js';
import { createDataset } from './support/dataset.js';
import { highWatermarks, storedProgress, total } from './support/drain.js';
import { drainWithRunner, type FlowName } from './support/runner-drain.js';
import { produceBacklog, resetFlowState, seedState } from './support/seed.js';
import { BENCH_PARTITIONS, childEnv, createBenchStack, type IsolatedStack } from './support/stack.js';
import { fmt, num, repeat, sleep, summarize } from './support/stats.js';
import type { Table } from './support/table.js';

const FLOWS: FlowName[] = ['calendar', 'touchpoints'];
const RECORD_BYTES = 300;

async function withBacklog<T>(o: BenchOptions, spec: { tenants: number; perTopic: number; perSend?: number }, fn: (stack: IsolatedStack) => Promise<T>): Promise<T> {
  const stack = await createBenchStack(o.env);
  try {
    const data = createDataset({ tenants: spec.tenants, appointments: spec.perTopic, activities: spec.perTopic, seed: 7 });
    await seedState(stack, data);
    await produceBacklog(stack, 'appointments', data.appointments, spec.perSend);
    await produceBacklog(stack, 'activities', data.activities, spec.perSend);
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

async function flowRows(o: BenchOptions, stack: IsolatedStack, label: string, options: { maxBytesPerPartition?: number; warm: number }): Promise<string[][]> {
  const rows: string[][] = [];
  for (const flow of FLOWS) {
    const drainOptions = options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {};
    const s = await repeat(o.reps, async () => {
      const r = await drainWithRunner(stack, flow, drainOptions);
      return { rate: r.eventsPerSec, cpu: r.cpuUsPerEvent, batch: r.recordsPerBatch };
    }, () => drainWithRunner(stack, flow, { ...drainOptions, limit: options.warm }));
    rows.push([label, flow, fmt(s.rate), fmt(s.cpu, 1), num(s.batch.median)]);
  }
  return rows;
}

async function tenantsTable(o: BenchOptions, perTopic: number): Promise<Table> {
  const rows: string[][] = [];
  for (const tenants of [1, 10, 100, 1_000]) {
    o.log(`  growth: ${num(tenants)} tenant${tenants === 1 ? '' : 's'}`);
    rows.push(...(await withBacklog(o, { tenants, perTopic }, (stack) => flowRows(o, stack, `${num(tenants)} tenant${tenants === 1 ? '' : 's'}`, { warm: Math.round(perTopic / 4) }))));
  }
  return { title: `Tenants (${num(perTopic)} events per topic, in-process runner)`, columns: ['tenants', 'flow', 'events/s median (min–max)', 'CPU µs/event', 'records/batch'], rows };
}

async function batchTable(o: BenchOptions, perTopic: number): Promise<Table> {
  const rows: string[][] = [];
  for (const size of [1, 100, 1_000]) {
    // Batch-of-1 is slow and needs one send per record: a smaller backlog.
    const events = size === 1 ? Math.min(perTopic, o.quick ? 300 : 600) : perTopic;
    o.log(`  growth: batches of ~${num(size)} (${num(events)} events per topic)`);
    rows.push(...(await withBacklog(o, { tenants: 10, perTopic: events, perSend: size * BENCH_PARTITIONS }, (stack) =>
      flowRows(o, stack, `~${num(size)} (${num(events)} events)`, { maxBytesPerPartition: Math.max(1, size * RECORD_BYTES - 1), warm: Math.round(events / 4) }))));
  }
  return { title: 'Batch size (10 tenants, in-process runner)', columns: ['batch size (backlog)', 'flow', 'events/s median (min–max)', 'CPU µs/event', 'records/batch'], rows };
}

/** k `acme-sync consumers` processes (both flows) in the same groups, drained from "first record stored" to the end. */
async function processesRun(stack: IsolatedStack, k: number, groupPrefix: string): Promise<{ rate: number; rssMax: number }> {
  await resetFlowState(stack);
  const marks = await highWatermarks(stack.admin, [stack.topics.appointments, stack.topics.activities]);
  const target = total(marks);
  const groups = FLOWS.map((f) => `${groupPrefix}.${f}`);
  const children: ChildProcess[] = Array.from({ length: k }, () => startConsumersProcess(childEnv(stack, { CONSUMER_GROUP_PREFIX: groupPrefix }), 'calendar,touchpoints'));
  const rss: number[] = children.map(() => 0);
  const sampler = setInterval(() => children.forEach((c, i) => (rss[i] = Math.max(rss[i]!, rssMiB(c.pid) || 0))), 250);
  try {
    let started: number | undefined;
    const deadline = Date.now() + 900_000;
    for (;;) {
      const done = await storedProgress(stack.pool, groups, marks);
      if (started === undefined && done > 0) started = performance.now();
      if (done >= target) break;
      if (children.some((c) => c.exitCode !== null)) throw new Error('a consumers process exited during the drain');
      if (Date.now() > deadline) throw new Error(`processes not drained: ${done}/${target}`);
      await sleep(50);
    }
    return { rate: target / ((performance.now() - started!) / 1000), rssMax: summarize(rss).median };
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map(stopProcess));
  }
}

async function processesTable(o: BenchOptions, perTopic: number): Promise<Table> {
  const rows: string[][] = [];
  await withBacklog(o, { tenants: 10, perTopic }, async (stack) => {
    let n = 0;
    for (const k of [1, 2, 3]) {
      o.log(`  growth: ${k} consumers process${k === 1 ? '' : 'es'}`);
      const s = await repeat(o.reps, async () => processesRun(stack, k, `${stack.id}.procs${k}.${++n}`));
      rows.push([String(k), fmt(s.rate), fmt(s.rssMax)]);
    }
  });
  return {
    title: `Consumer processes (acme-sync consumers, both flows, one group per flow; ${num(perTopic * 2)} events)`,
    note: 'Throughput of both flows together, from the first stored offset to the last (process start-up and the group join excluded); RSS is the largest resident set seen per process during the drain (median over processes).',
    columns: ['processes', 'events/s median (min–max)', 'RSS MiB per process, median (min–max)'],
    rows,
  };
}

export const growth: Benchmark = {
  name: 'growth',
  title: '4. Growth: tenants, batch size, processes, memory',
  async run(options: BenchOptions): Promise<BenchResult> {
    // --quick: one repetition here, so the whole quick run stays within a few minutes.
    const o = options.quick ? { ...options, reps: 1 } : options;
    const perTopic = Math.max(1_000, Math.round(o.size / 40));
    const tables = [await tenantsTable(o, perTopic), await batchTable(o, perTopic), await processesTable(o, perTopic)];
    return {
      name: this.name, title: this.title, tables,
      findings: [
        `Sizes: ${num(perTopic)} events per topic (the batch-of-1 case a smaller backlog).`,
        ...(o.quick ? ['QUICK run: one repetition per measurement in this benchmark.'] : []),
        'Each repetition starts from empty calendar/touch-point tables with a fresh consumer group; a warm-up drain (a quarter of the backlog) precedes each measurement.',
        'The 2-core machine runs Kafka, PostgreSQL and the schema registry next to the consumers: more processes compete for the same two cores, so the process count shows contention rather than scale-out.',
      ],
    };
  },
};

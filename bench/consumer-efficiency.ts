/**
 * Benchmark 1 — consumer efficiency. One backlog (half appointments, half
 * activities; 10 tenants; duplicates, older versions, deletes, a little bad data) is
 * loaded once, then drained again and again by fresh consumer groups:
 *   kafkajs bare (ceiling) · kafkajs decode-only · the flow through the runner ·
 *   the database writes alone · @platformatic/kafka bare and decode-only.
 * Calendar is compared on the appointments topic, touch-points on the activities topic.
 */
import type { Benchmark, BenchOptions, BenchResult } from './support/bench.js';
import { drainKafkajs, drainPlatformatic, type ClientDrain, type ClientMode } from './support/client-drains.js';
import { createDataset } from './support/dataset.js';
import { drainDatabaseAlone } from './support/db-alone.js';
import { highWatermarks, total } from './support/drain.js';
import { drainWithRunner, type FlowName } from './support/runner-drain.js';
import { produceBacklog, seedState } from './support/seed.js';
import { createBenchStack, type IsolatedStack } from './support/stack.js';
import { fmt, num, ratio, repeat, type Summary } from './support/stats.js';
import type { Table } from './support/table.js';

const TENANTS = 10;
export const TARGET_EVENTS_PER_SEC = 20_000;
export const TARGET_OF_DECODE = 0.6;

interface Row {
  variant: string;
  rate: Summary;
  cpu: Summary;
  extra?: string;
}

const FLOW_TOPIC: Record<FlowName, 'appointments' | 'activities'> = { calendar: 'appointments', touchpoints: 'activities' };

async function clientRows(stack: IsolatedStack, o: BenchOptions, flow: FlowName, expected: number, warm: number): Promise<{ rows: Row[]; decode: Summary }> {
  const topic = stack.topics[FLOW_TOPIC[flow]];
  const rows: Row[] = [];
  let decode!: Summary;
  let n = 0;
  const variants: [string, ClientMode, 'kafkajs' | 'platformatic'][] = [
    ['kafkajs, bare (ceiling)', 'bare', 'kafkajs'],
    ['kafkajs, Avro decode only', 'decode', 'kafkajs'],
    ['@platformatic/kafka, bare', 'bare', 'platformatic'],
    ['@platformatic/kafka, Avro decode only', 'decode', 'platformatic'],
  ];
  for (const [label, mode, client] of variants) {
    const drain = (count: number): Promise<ClientDrain> => {
      const input = { topics: [topic], expected: count, mode, codec: stack.codec, groupId: `${stack.id}.bench.${client}.${mode}.${++n}` };
      return client === 'kafkajs' ? drainKafkajs(stack.kafka, input) : drainPlatformatic(stack.config.KAFKA_BROKERS, input);
    };
    o.log(`  ${flow}: ${label}`);
    const s = await repeat(o.reps, async () => {
      const r = await drain(expected);
      return { rate: r.eventsPerSec, cpu: r.cpuUsPerEvent };
    }, () => drain(warm));
    rows.push({ variant: label, rate: s.rate, cpu: s.cpu });
    if (client === 'kafkajs' && mode === 'decode') decode = s.rate;
  }
  return { rows, decode };
}

async function measureFlow(stack: IsolatedStack, o: BenchOptions, flow: FlowName, data: ReturnType<typeof createDataset>, expected: number, warm: number) {
  const { rows, decode } = await clientRows(stack, o, flow, expected, warm);
  o.log(`  ${flow}: flow through the runner`);
  const pipeline = await repeat(o.reps, async () => {
    const r = await drainWithRunner(stack, flow);
    return { rate: r.eventsPerSec, cpu: r.cpuUsPerEvent, batch: r.recordsPerBatch, written: r.written, skipped: r.skipped, dlq: r.dlq };
  }, () => drainWithRunner(stack, flow, { limit: warm }));
  rows.push({
    variant: `${flow} flow through the runner`, rate: pipeline.rate, cpu: pipeline.cpu,
    extra: `${num(pipeline.batch.median)} records/batch; written ${num(pipeline.written.median)}, skipped ${num(pipeline.skipped.median)}, DLQ ${num(pipeline.dlq.median)}`,
  });
  const batchSize = pipeline.batch.median;
  o.log(`  ${flow}: database writes alone (batch ${num(batchSize)})`);
  const db = await repeat(o.reps, async () => {
    const r = await drainDatabaseAlone(stack, data, flow, { batchSize });
    return { rate: r.eventsPerSec, cpu: r.cpuUsPerEvent };
  }, () => drainDatabaseAlone(stack, data, flow, { batchSize, limit: warm }));
  rows.push({ variant: `${flow} database writes alone (sinks, no Kafka)`, rate: db.rate, cpu: db.cpu, extra: `${num(batchSize)} events per transaction, 3 at a time` });
  return { rows, decode, pipeline: pipeline.rate, db: db.rate };
}

export const consumerEfficiency: Benchmark = {
  name: 'consumers',
  title: '1. Consumer efficiency',
  async run(o: BenchOptions): Promise<BenchResult> {
    const stack = await createBenchStack(o.env);
    try {
      const half = Math.round(o.size / 2);
      o.log(`consumers: dataset of ${num(o.size)} events (${TENANTS} tenants), seeding and producing`);
      const data = createDataset({ tenants: TENANTS, appointments: half, activities: half });
      await seedState(stack, data);
      const produced = [await produceBacklog(stack, 'appointments', data.appointments), await produceBacklog(stack, 'activities', data.activities)];
      const bytes = produced.reduce((s, p) => s + p.bytes, 0) / produced.reduce((s, p) => s + p.events, 0);
      const warm = Math.min(20_000, Math.round(half / 2));
      const tables: Table[] = [];
      const findings: string[] = [
        `Backlog: ${num(o.size)} events (${num(half)} appointments, ${num(half)} activities, ${TENANTS} tenants), mean Avro record ${num(bytes)} bytes, ${stack.config.KAFKA_PARTITIONS} partitions per topic; produced at ${num(produced.reduce((s, p) => s + p.events, 0) / produced.reduce((s, p) => s + p.seconds, 0))} events/s by one idempotent kafkajs producer.`,
      ];
      for (const flow of ['calendar', 'touchpoints'] as const) {
        const expected = total(await highWatermarks(stack.admin, [stack.topics[FLOW_TOPIC[flow]]]));
        const m = await measureFlow(stack, o, flow, data, expected, warm);
        const ofDecode = m.pipeline.median / m.decode.median;
        tables.push({
          title: `${flow} flow: ${num(expected)} ${FLOW_TOPIC[flow]} events`,
          columns: ['variant', 'events/s median (min–max)', 'CPU µs/event median (min–max)', 'notes'],
          rows: [
            ...m.rows.map((r) => [r.variant, fmt(r.rate), fmt(r.cpu, 1), r.extra ?? '']),
            ['ratio pipeline ÷ decode-only (kafkajs)', ratio(m.pipeline.median, m.decode.median), '', `target ≥ ${TARGET_OF_DECODE}`],
            ['ratio pipeline ÷ database alone', ratio(m.pipeline.median, m.db.median), '', ''],
          ],
        });
        const met = (ok: boolean) => (ok ? 'MET' : 'MISSED');
        findings.push(
          `${flow}: ${num(m.pipeline.median)} events/s per process — target ≥ ${num(TARGET_EVENTS_PER_SEC)}: ${met(m.pipeline.median >= TARGET_EVENTS_PER_SEC)}; ` +
            `${ratio(m.pipeline.median, m.decode.median)} of the decode-only ceiling — target ≥ ${TARGET_OF_DECODE}: ${met(ofDecode >= TARGET_OF_DECODE)}; ` +
            `${ratio(m.pipeline.median, m.db.median)} of the database-alone rate.`,
        );
        o.figures.set(`consumers.${flow}.eventsPerSec`, m.pipeline.median);
      }
      return { name: this.name, title: this.title, tables, findings };
    } finally {
      await stack.close();
    }
  },
};

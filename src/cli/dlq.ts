/**
 * `acme-sync dlq list|count|show|replay|skip`: inspect and replay the dead-letter topic;
 * `skip` moves one stuck record there (src/dlq/skip.ts).
 * Replays go back to the record's source topic (one of our input topics) with a
 * replay count, a rate limit and a progress bar; `--dry-run` only says what it would do.
 */
import { Command, Option } from 'commander';
import { inputTopics } from '../kafka/lanes.js';
import cliProgress from 'cli-progress';
import { bootstrap, type Runtime } from '../bootstrap.js';
import { loadConfig } from '../config/index.js';
import { userInfo } from 'node:os';
import { skipRecord } from '../dlq/skip.js';
import { describeDlqRecord, replayDlq, type DlqFilter, type DlqRecord } from '../dlq/index.js';
import { queryDlq, reindexDlq } from '../dlq/records.js';
import { createLogger } from '../logger.js';

interface FilterFlags {
  tenant?: string;
  code?: string;
  stage?: string;
  topic?: string;
  since?: string;
  until?: string;
  id?: string[];
  json?: boolean;
}

function parseTime(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`--${flag}: expected an ISO date or time, got ${JSON.stringify(value)}`);
  return ms;
}

export function toFilter(flags: FilterFlags): DlqFilter {
  return {
    ...(flags.tenant ? { tenantId: flags.tenant } : {}),
    ...(flags.code ? { code: flags.code } : {}),
    ...(flags.stage ? { stage: flags.stage } : {}),
    ...(flags.topic ? { sourceTopic: flags.topic } : {}),
    ...(flags.since ? { since: parseTime('since', flags.since) } : {}),
    ...(flags.until ? { until: parseTime('until', flags.until) } : {}),
    ...(flags.id?.length ? { ids: flags.id } : {}),
  };
}

function withFilters(cmd: Command): Command {
  return cmd
    .option('--tenant <id>', 'only this tenant')
    .option('--code <code>', 'only this error code (e.g. VALIDATION_FAILED)')
    .option('--stage <stage>', 'only this stage (decode, validate, enrich, ...)')
    .option('--topic <topic>', 'only records from this source topic')
    .option('--since <time>', 'DLQ records written at or after (ISO)')
    .option('--until <time>', 'DLQ records written at or before (ISO)')
    .option('--id <partition:offset...>', 'only these DLQ records')
    .option('--json', 'print JSON instead of a table');
}

async function withRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const runtime = await bootstrap(config, createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, name: 'acme-sync-dlq' }));
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}

function bar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
}

/** From the DLQ's index in PostgreSQL (dlq_records, issue 14): no scan of the topic. */
async function read(rt: Runtime, filter: DlqFilter): Promise<DlqRecord[]> {
  return queryDlq(rt.pool, rt.topics.dlq, filter);
}

function row(r: DlqRecord): string {
  const e = r.error;
  return [r.id.padEnd(10), new Date(r.timestamp).toISOString(), e.tenantId.padEnd(16), e.stage.padEnd(9), e.code.padEnd(18), e.acmeId.padEnd(20), `replays=${r.replayCount}`, e.message.slice(0, 60)].join('  ');
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('inspect and replay the dead-letter topic');

  withFilters(dlq.command('list').description('list DLQ records with their error context')).action(async (flags: FilterFlags) =>
    withRuntime(async (rt) => {
      const records = await read(rt, toFilter(flags));
      if (flags.json) return console.log(JSON.stringify(records.map(({ value: _v, ...r }) => r), null, 2));
      for (const r of records) console.log(row(r));
      console.log(`${records.length} record(s)`);
    }),
  );

  withFilters(dlq.command('count').description('count DLQ records by tenant and error code')).action(async (flags: FilterFlags) =>
    withRuntime(async (rt) => {
      const counts = new Map<string, number>();
      for (const r of await read(rt, toFilter(flags))) {
        const k = `${r.error.tenantId}\t${r.error.code}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      if (flags.json) return console.log(JSON.stringify(Object.fromEntries(counts)));
      for (const [k, n] of [...counts].sort()) console.log(`${k.replace('\t', '  ')}  ${n}`);
      console.log(`total ${[...counts.values()].reduce((a, b) => a + b, 0)}`);
    }),
  );

  dlq.command('show <id>').description('one DLQ record (partition:offset) with its decoded payload and error context').action(async (id: string) =>
    withRuntime(async (rt) => {
      const [record] = await read(rt, { ids: [id] });
      if (!record) throw new Error(`No DLQ record ${id}`);
      const { value: _v, ...rest } = record;
      const described = await describeDlqRecord(rt.codec, record);
      console.log(JSON.stringify({ ...rest, payload: described.payload, decodeError: described.decodeError }, null, 2));
    }),
  );

  dlq.command('skip').description('move ONE stuck record (by position) to the DLQ: every consumer group sends it there instead of processing it; recorded with who and why, shown by dlq list')
    .requiredOption('--topic <topic>', 'the input topic (its name, or appointments|contacts|activities)')
    .requiredOption('--partition <n>', 'partition', (v) => Number.parseInt(v, 10))
    .requiredOption('--offset <n>', 'offset of the record to skip')
    .requiredOption('--reason <text>', 'why it is skipped (kept with the DLQ record)')
    .option('--operator <name>', 'who skips it (default: the OS user)')
    .action(async (flags: { topic: string; partition: number; offset: string; reason: string; operator?: string }) =>
      withRuntime(async (rt) => {
        const topic = (rt.topics as unknown as Record<string, string>)[flags.topic] ?? flags.topic;
        if (!/^\d+$/.test(flags.offset) || !Number.isInteger(flags.partition) || flags.partition < 0) throw new Error('--partition and --offset: expected non-negative integers');
        const result = await skipRecord({ kafka: rt.kafka, pool: rt.pool }, { topic, partition: flags.partition, offset: flags.offset, reason: flags.reason, operator: flags.operator ?? userInfo().username });
        console.log(`${topic}/${flags.partition}@${flags.offset} (${result.tenantId}:${result.acmeId}) will go to the DLQ as OPERATOR_SKIPPED when ${result.pendingGroups.join(', ') || 'a consumer group'} reach(es) it; a stopped consumer resumes past it on restart`);
      }),
    );

  dlq.command('reindex').description('index the records the DLQ topic holds in PostgreSQL (once after upgrading: list, count, show and replay read the index)').action(async () =>
    withRuntime(async (rt) => {
      const progress = bar('indexing DLQ');
      let started = false;
      const n = await reindexDlq(rt.kafka, rt.pool, rt.topics.dlq, (done, total) => {
        if (!started && process.stderr.isTTY) progress.start(total, 0), (started = true);
        if (started) progress.update(done);
      });
      if (started) progress.stop();
      console.log(`${n} DLQ record(s) indexed`);
    }),
  );

  withFilters(dlq.command('replay').description('send selected DLQ records back to their source topics'))
    .option('--dry-run', 'say what would be replayed, send nothing')
    .addOption(new Option('--rate <per-second>', 'records per second (0 = unlimited)').default('50').argParser(Number))
    .addOption(new Option('--max-replays <n>', 'leave records already replayed this often').default('3').argParser(Number))
    .option('--again', 'also replay records this tool replayed before')
    .action(async (flags: FilterFlags & { dryRun?: boolean; rate: number; maxReplays: number; again?: boolean }) =>
      withRuntime(async (rt) => {
        const records = await read(rt, toFilter(flags));
        const producer = rt.kafka.producer();
        await producer.connect();
        const progress = bar(flags.dryRun ? 'dry run' : 'replaying');
        if (process.stderr.isTTY) progress.start(records.length, 0);
        try {
          const report = await replayDlq(records, {
            producer, pool: rt.pool, dlqTopic: rt.topics.dlq,
            allowedTopics: new Set([...inputTopics(rt.topics), rt.topics.calendar_changes]),
            dryRun: Boolean(flags.dryRun), ratePerSecond: flags.rate, maxReplays: flags.maxReplays, again: Boolean(flags.again),
            onProgress: (done) => process.stderr.isTTY && progress.update(done),
          });
          if (process.stderr.isTTY) progress.stop();
          if (flags.json) return console.log(JSON.stringify(report, null, 2));
          console.log(Object.entries(report.byOutcome).filter(([, n]) => n > 0).map(([k, n]) => `${k}: ${n}`).join(', ') || 'nothing selected');
        } finally {
          await producer.disconnect();
        }
      }),
    );
}

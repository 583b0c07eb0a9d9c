/**
 * `npm run drills [-- --ci] [-- --only <name>]`: the fault drills of issue 7. Each
 * drill runs the sandbox's generator against the real pipeline, injects its fault,
 * waits for the pipeline to drain and compares with the generator's truth; the table
 * goes to stdout and into docs/RELIABILITY.md.
 *
 * Each drill runs in a child process of its own (`--child <name>`): a drill that
 * crashes its process (an unhandled error in the pipeline is a finding, not a harness
 * problem) is reported as failed and the other drills still run.
 */
import { Command } from 'commander';
import pg from 'pg';
import { APICURIO_VERSION, KAFKA_VERSION } from '../scripts/stack/settings.js';
import { acmeDown } from './acme-down.js';
import { brokerFailures } from './broker-failures.js';
import { consumerKills } from './consumer-kills.js';
import { fuzz } from './fuzz.js';
import { postgresDown } from './postgres-down.js';
import { webhookAttacks } from './webhook-attacks.js';
import { webhookFaults } from './webhook-faults.js';
import { writeback } from './writeback.js';
import { RESULT_PREFIX, runDrillChild } from './support/child.js';
import { passed, type Drill, type DrillResult, type DrillSize } from './support/drill.js';
import { formatRow, writeReport } from './support/report.js';
import { stackEnv, type StackEnv } from './support/stack.js';

const DRILLS: Drill[] = [consumerKills, webhookFaults, postgresDown, acmeDown, webhookAttacks, brokerFailures, fuzz, writeback];

const program = new Command('drills')
  .option('--ci', 'small sizes (each drill about a minute)')
  .option('--only <name>', `run one drill: ${DRILLS.map((d) => d.name).join(', ')}`)
  .option('--no-write', 'do not update docs/RELIABILITY.md')
  .option('--child <name>', 'internal: run one drill in this process and print its result')
  .parse();
const opts = program.opts<{ ci?: boolean; only?: string; write: boolean; child?: string }>();
const log = (msg: string) => console.log(msg);
const size: DrillSize = opts.ci ? 'ci' : 'full';
const env = await stackEnv(log);

if (opts.child) {
  const drill = DRILLS.find((d) => d.name === opts.child)!;
  const result = await drill.run({ size, env, log });
  log(RESULT_PREFIX + JSON.stringify(result));
  process.exit(0);
}

const selected = opts.only ? DRILLS.filter((d) => d.name === opts.only) : DRILLS;
if (selected.length === 0) {
  console.error(`unknown drill ${opts.only}; drills: ${DRILLS.map((d) => d.name).join(', ')}`);
  process.exit(2);
}
const results: DrillResult[] = [];
for (const drill of selected) {
  log(`drill ${drill.name} (${size}): ${drill.title}`);
  const result = await runChild(drill, env);
  results.push(result);
  log(formatRow(result));
}
if (opts.write) await writeReport(results, size, DRILLS.map((d) => d.name), await versions());
const failed = results.filter((r) => !passed(r));
log(failed.length === 0 ? 'all drills passed' : `${failed.length} drill(s) failed: ${failed.map((r) => r.drill).join(', ')}`);
process.exit(failed.length === 0 ? 0 : 1);

async function runChild(drill: Drill, stack: StackEnv): Promise<DrillResult> {
  const started = Date.now();
  let lastError = '';
  const { result, code, signal } = await runDrillChild(drill.name, {
    size, env: stack, onStdout: log,
    onStderr: (l) => {
      process.stderr.write(`${l}\n`);
      if (/Error/.test(l) && !lastError) lastError = l.trim();
    },
  });
  return result ?? {
    drill: drill.name, events: NaN, lost: NaN, duplicated: NaN, wrong: NaN, dlqExpected: NaN, dlqActual: NaN, durationMs: Date.now() - started, extraOk: false,
    notes: `the drill's process exited (${signal ?? `code ${code}`}) without a result: ${lastError.slice(0, 300) || 'see the output'}`,
  };
}

async function versions(): Promise<string> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  const postgres = await client.connect().then(() => client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).then((r) => r.rows[0]!.v, () => 'unknown');
  await client.end().catch(() => undefined);
  return `Kafka ${KAFKA_VERSION} (KRaft), Apicurio Registry ${APICURIO_VERSION} (the local stack's versions), PostgreSQL ${postgres}`;
}

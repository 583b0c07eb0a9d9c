/**
 * `npm run drills [-- --ci] [-- --only <name>]`: the fault drills of issue 7. Each
 * drill runs the sandbox's generator against the real pipeline, injects its fault,
 * waits for the pipeline to drain and compares with the generator's truth; the table
 * goes to stdout and into docs/RELIABILITY.md.
 */
import { Command } from 'commander';
import pg from 'pg';
import { APICURIO_VERSION, KAFKA_VERSION } from '../scripts/stack/settings.js';
import { acmeDown } from './acme-down.js';
import { brokerFailures } from './broker-failures.js';
import { consumerKills } from './consumer-kills.js';
import { postgresDown } from './postgres-down.js';
import { webhookAttacks } from './webhook-attacks.js';
import { webhookFaults } from './webhook-faults.js';
import { passed, type Drill, type DrillResult } from './support/drill.js';
import { formatRow, writeReport } from './support/report.js';
import { stackEnv } from './support/stack.js';

const DRILLS: Drill[] = [consumerKills, webhookFaults, postgresDown, acmeDown, webhookAttacks, brokerFailures];

const program = new Command('drills')
  .option('--ci', 'small sizes (each drill about a minute)')
  .option('--only <name>', `run one drill: ${DRILLS.map((d) => d.name).join(', ')}`)
  .option('--no-write', 'do not update docs/RELIABILITY.md')
  .parse();
const opts = program.opts<{ ci?: boolean; only?: string; write: boolean }>();

const log = (msg: string) => console.log(msg);
const selected = opts.only ? DRILLS.filter((d) => d.name === opts.only) : DRILLS;
if (selected.length === 0) {
  console.error(`unknown drill ${opts.only}; drills: ${DRILLS.map((d) => d.name).join(', ')}`);
  process.exit(2);
}
const size = opts.ci ? 'ci' : 'full';
const env = await stackEnv(log);
const results: DrillResult[] = [];
for (const drill of selected) {
  log(`drill ${drill.name} (${size}): ${drill.title}`);
  try {
    results.push(await drill.run({ size, env, log }));
  } catch (err) {
    log(`  ${drill.name} failed: ${(err as Error).stack ?? String(err)}`);
    results.push({ drill: drill.name, events: 0, lost: NaN, duplicated: NaN, wrong: NaN, dlqExpected: NaN, dlqActual: NaN, durationMs: 0, notes: `error: ${(err as Error).message.slice(0, 300)}`, extraOk: false });
  }
  log(formatRow(results[results.length - 1]!));
}
if (opts.write) await writeReport(results, size, DRILLS.map((d) => d.name), await versions());
const failed = results.filter((r) => !passed(r));
log(failed.length === 0 ? 'all drills passed' : `${failed.length} drill(s) failed: ${failed.map((r) => r.drill).join(', ')}`);
process.exit(failed.length === 0 ? 0 : 1);

async function versions(): Promise<string> {
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  const postgres = await client.connect().then(() => client.query<{ v: string }>('SHOW server_version')).then((r) => r.rows[0]!.v, () => 'unknown');
  await client.end().catch(() => undefined);
  return `Kafka ${KAFKA_VERSION} (KRaft), Apicurio Registry ${APICURIO_VERSION} (the local stack's versions), PostgreSQL ${postgres}`;
}

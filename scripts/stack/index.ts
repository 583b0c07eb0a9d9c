/**
 * The local stack without Docker: Apache Kafka (KRaft) and Apicurio Registry from
 * Maven Central, and the machine's PostgreSQL.
 *
 *   npm run stack -- up       start what is not running, wait until healthy, print addresses
 *   npm run stack -- status   what runs where
 *   npm run stack -- down     stop what we started (add --purge to delete Kafka's data)
 *
 * Every command is idempotent. Docker users can run docker-compose.yml instead.
 */
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { KAFKA, isKafkaHealthy, startKafka } from './kafka.js';
import { ensurePostgres, isPostgresHealthy, postgresVersion } from './postgres.js';
import { logFile, runningPid, stopService } from './processes.js';
import { REGISTRY, isRegistryHealthy, startRegistry } from './registry.js';
import { ADDRESSES, APICURIO_VERSION, KAFKA_VERSION, PATHS, stackEnv } from './settings.js';

export { stackEnv };

const say = (msg: string) => console.log(`[stack] ${msg}`);

export async function stackUp(log = say): Promise<Record<string, string>> {
  await ensurePostgres(log);
  // Kafka and the registry start in parallel: each takes a few seconds of JVM warm-up.
  await Promise.all([startKafka(log), startRegistry(log)]);
  return stackEnv();
}

export async function stackDown(options: { purge?: boolean } = {}, log = say): Promise<void> {
  for (const name of [REGISTRY, KAFKA]) log(`${name}: ${(await stopService(name)) ? 'stopped' : 'was not running'}`);
  if (options.purge) {
    rmSync(PATHS.kafkaData, { recursive: true, force: true });
    log('Kafka data deleted');
  }
  log('PostgreSQL is the machine\'s own server: left running');
}

export interface ServiceStatus {
  name: string;
  version: string;
  address: string;
  pid: number | undefined;
  healthy: boolean;
  log?: string;
}

export async function stackStatus(): Promise<ServiceStatus[]> {
  const [kafka, registry, postgres] = await Promise.all([isKafkaHealthy(), isRegistryHealthy(), isPostgresHealthy()]);
  return [
    { name: 'kafka', version: `Apache Kafka ${KAFKA_VERSION} (KRaft)`, address: ADDRESSES.kafka, pid: runningPid(KAFKA), healthy: kafka, log: logFile(KAFKA) },
    { name: 'schema-registry', version: `Apicurio Registry ${APICURIO_VERSION}`, address: ADDRESSES.registry, pid: runningPid(REGISTRY), healthy: registry, log: logFile(REGISTRY) },
    { name: 'postgresql', version: postgres ? `PostgreSQL ${await postgresVersion().catch(() => '?')}` : 'PostgreSQL', address: ADDRESSES.database, pid: undefined, healthy: postgres },
  ];
}

function printStatus(rows: ServiceStatus[]): void {
  for (const r of rows) {
    const state = r.healthy ? 'up  ' : 'DOWN';
    console.log(`${state}  ${r.name.padEnd(16)} ${r.address.padEnd(48)} ${r.version}${r.pid ? `  pid ${r.pid}` : ''}`);
  }
}

function printEnv(): void {
  console.log('\nexport these to point the integration and the tests at this stack:');
  for (const [k, v] of Object.entries(stackEnv())) console.log(`  export ${k}=${v}`);
}

async function main(): Promise<void> {
  const program = new Command('stack').description('Local Kafka + schema registry + PostgreSQL, no Docker needed');
  program.command('up').description('start and health-check the stack').action(async () => {
    await stackUp();
    printStatus(await stackStatus());
    printEnv();
  });
  program.command('down').option('--purge', "also delete Kafka's data directory").description('stop what the stack started').action(async (opts: { purge?: boolean }) => stackDown(opts));
  program.command('status').description('show what runs where').action(async () => {
    const rows = await stackStatus();
    printStatus(rows);
    process.exitCode = rows.every((r) => r.healthy) ? 0 : 3;
  });
  program.command('env').description('print the environment variables for this stack').action(() => {
    for (const [k, v] of Object.entries(stackEnv())) console.log(`${k}=${v}`);
  });
  await program.parseAsync(process.argv);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    console.error(`[stack] ${err.message}`);
    process.exit(1);
  });
}

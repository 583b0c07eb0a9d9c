/**
 * `npm start`: the whole thing on this machine.
 *
 *  1. the local stack (Kafka, schema registry, PostgreSQL), migrations, topics, schemas;
 *  2. Acme's sandbox on 127.0.0.1:4010 with a traffic generator for several accounts;
 *  3. the integration's processes as children: `acme-sync edge` (webhooks),
 *     `acme-sync consumers` (calendar + touch-points) and `acme-sync admin`
 *     (admin API, poller);
 *  4. each sandbox account connected the way a customer would: a tenant created and
 *     activated through the admin API (webhook subscription at Acme + backfill);
 *  5. live progress every few seconds until Ctrl-C, which stops everything it started.
 *
 * It tells the truth (issue 13): before starting anything it checks that its ports are free
 * and names what holds one (scripts/demo/ports.ts); a process that exits unexpectedly is
 * reported at once with the last lines of its log and restarted up to DEMO_MAX_RESTARTS
 * times (default 3), after which everything stops (scripts/demo/supervisor.ts); on every
 * exit path — a failure, Ctrl-C, SIGTERM, SIGHUP — every process it started is stopped
 * (by process group) before it exits.
 *
 * DEMO_RATE (changes per second, default 20), DEMO_ACCOUNTS (3) and DEMO_SEED tune the traffic.
 * EDGE_PORT, ADMIN_PORT, CONSUMER_PORT (3000, 3001, 3002) and SANDBOX_PORT (4010) move the ports.
 * With KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL all set, it uses that stack
 * instead of starting the local one. DEMO_NAMESPACE (default "demo") prefixes each run's
 * topics, consumer groups and PostgreSQL schema.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { createSandbox } from '../sandbox/src/index.js';
import { stackDown, stackStatus, stackUp } from './stack/index.js';
import { CACHE, ROOT } from './stack/settings.js';
import { portProblems } from './demo/ports.js';
import { createSupervisor, type Supervisor } from './demo/supervisor.js';
import { createSamples, sparkline } from './demo/sparkline.js';

const envInt = (key: string, def: number): number => {
  const n = Number(process.env[key] || def);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${key} must be a whole number, got ${JSON.stringify(process.env[key])}`);
  return n;
};
const PORTS = { edge: envInt('EDGE_PORT', 3000), admin: envInt('ADMIN_PORT', 3001), consumers: envInt('CONSUMER_PORT', 3002), sandbox: envInt('SANDBOX_PORT', 4010) };
const RATE = Number(process.env.DEMO_RATE ?? 20);
const ACCOUNTS = Number(process.env.DEMO_ACCOUNTS ?? 3);
const SEED = Number(process.env.DEMO_SEED ?? 42);
const MAX_RESTARTS = envInt('DEMO_MAX_RESTARTS', 3);
const NAMESPACE = process.env.DEMO_NAMESPACE || 'demo';
if (!/^[a-z][a-z0-9]{0,20}$/.test(NAMESPACE)) throw new Error(`DEMO_NAMESPACE must be lower-case letters and digits, got ${JSON.stringify(NAMESPACE)}`);

const LOGS = process.env.DEMO_LOGS_DIR || join(ROOT, '.cache', 'logs');
const log = (msg: string) => console.log(`[start] ${msg}`);

/** A development secret made once and kept in .cache (git-ignored), never for production. */
function devSecret(name: string, make: () => string): string {
  const file = join(CACHE, name);
  if (!existsSync(file)) {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(file, make(), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** Resolves when GET /readyz answers 200 (the process bootstrapped and its checks pass). */
async function waitForReady(name: string, port: number, supervisor: Supervisor, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} not ready on port ${port} within ${timeoutMs / 1000}s${supervisor.running()[name] === undefined ? ' (not running)' : ''}; see ${join(LOGS, `${name}.log`)}`);
}

async function admin(token: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${PORTS.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

interface Snapshot {
  at: number;
  calendar: number;
  cancelled: number;
  touchpoints: number;
  dlq: number;
  received: number;
}

async function snapshot(db: pg.Client): Promise<Snapshot> {
  const one = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  return {
    at: Date.now(),
    calendar: await one('SELECT count(*) AS n FROM calendar_events WHERE starts_at IS NOT NULL'),
    cancelled: await one(`SELECT count(*) AS n FROM calendar_events WHERE status = 'CANCELLED' AND starts_at IS NOT NULL`),
    touchpoints: await one('SELECT coalesce(sum(count), 0) AS n FROM touchpoint_counts'),
    dlq: await one('SELECT coalesce(sum(dlq), 0) AS n FROM consumer_ledger'),
    received: await one('SELECT coalesce(sum(received), 0) AS n FROM consumer_ledger'),
  };
}

/**
 * The sandbox keeps its data in memory and starts over on every run (same account and
 * record IDs, versions from 1), so each demo run gets its own topics, consumer groups
 * and PostgreSQL schema, and the previous runs' are removed first.
 */
async function freshDemoNamespace(env: Record<string, string>): Promise<Record<string, string>> {
  const runId = Date.now().toString(36);
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  const { rows } = await db.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${NAMESPACE}\\_%`]);
  for (const { nspname } of rows) await db.query(`DROP SCHEMA ${pg.escapeIdentifier(nspname)} CASCADE`);
  await db.end();
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const old = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(`${NAMESPACE}.`));
  if (old.length > 0) await kafkaAdmin.deleteTopics({ topics: old });
  await kafkaAdmin.disconnect();
  if (rows.length + old.length > 0) log(`removed the previous demo runs' data (${rows.length} schema(s), ${old.length} topic(s))`);
  return { KAFKA_TOPIC_PREFIX: `${NAMESPACE}.${runId}.`, CONSUMER_GROUP_PREFIX: `${NAMESPACE}.${runId}`, DATABASE_SCHEMA: `${NAMESPACE}_${runId}` };
}

/** What is running and must be stopped on the way out; filled in as main() goes. */
const state: {
  supervisor?: Supervisor;
  sandbox?: ReturnType<typeof createSandbox>;
  db?: pg.Client;
  timer?: NodeJS.Timeout;
  stopStack: boolean;
  stopping: boolean;
} = { stopStack: false, stopping: false };

/** The one way out, whatever the reason: stop every process started, then exit. */
async function shutdown(code: number, reason?: string): Promise<void> {
  if (state.stopping) return;
  state.stopping = true;
  if (reason !== undefined) log(reason);
  log('stopping...');
  clearInterval(state.timer);
  // Traffic first (the sandbox's webhook deliveries would keep the edge's connections busy), then the processes.
  state.sandbox?.generator()?.stop();
  await state.sandbox?.close().catch(() => undefined);
  await state.supervisor?.stopAll().catch((err: Error) => log(`stopping the processes: ${err.message}`));
  await state.db?.end().catch(() => undefined);
  if (state.stopStack) await stackDown({}, (m) => console.log(`[stack] ${m}`)).catch((err: Error) => log(`stopping the stack: ${err.message}`));
  const left = (state.supervisor?.startedPids() ?? []).filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  log(left.length === 0 ? 'stopped; nothing left running' : `could not stop pid(s) ${left.join(', ')}`);
  process.exit(left.length === 0 ? code : 1);
}

/** The stack named by the environment, or the local one (started here when not running). */
async function stackEnvironment(): Promise<Record<string, string>> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && DATABASE_URL) {
    log(`using the stack from the environment: Kafka ${KAFKA_BROKERS}, registry ${SCHEMA_REGISTRY_URL}`);
    return { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL };
  }
  const wasRunning = (await stackStatus()).every((s) => s.healthy);
  state.stopStack = !wasRunning;
  return { ...(await stackUp((m) => console.log(`[stack] ${m}`))) };
}

async function main(): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0, `${sig} received`));
  process.on('uncaughtException', (err) => void shutdown(1, `failed: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => void shutdown(1, `failed: ${(err as Error)?.stack ?? String(err)}`));

  // Before anything starts: a port someone else holds would only surface later as one
  // child's EADDRINUSE among many log lines.
  const taken = await portProblems(PORTS);
  if (taken.length > 0) {
    for (const problem of taken) log(problem);
    log('nothing was started: stop what holds the port(s), or move the demo with EDGE_PORT, ADMIN_PORT, CONSUMER_PORT, SANDBOX_PORT');
    process.exit(1);
  }

  const stackEnvVars = await stackEnvironment();
  Object.assign(stackEnvVars, await freshDemoNamespace(stackEnvVars));
  const adminToken = devSecret('dev-admin-token', () => `adm_${randomBytes(24).toString('hex')}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...stackEnvVars,
    MASTER_KEYS: process.env.MASTER_KEYS ?? devSecret('dev-master-keys', () => `dev:${randomBytes(32).toString('base64')}`),
    ADMIN_BOOTSTRAP_TOKEN: adminToken,
    EDGE_PORT: String(PORTS.edge),
    ADMIN_PORT: String(PORTS.admin),
    CONSUMER_PORT: String(PORTS.consumers),
    HTTP_HOST: '127.0.0.1',
    PUBLIC_BASE_URL: `http://127.0.0.1:${PORTS.edge}`,
    // Info goes to the log files (their last lines are shown when a process dies); the terminal gets warnings and errors.
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // The only Acme the demo's tenants may use is the local sandbox, on loopback (docs/SECURITY.md).
    ACME_ALLOWED_BASE_URLS: process.env.ACME_ALLOWED_BASE_URLS || `http://127.0.0.1:${PORTS.sandbox}`,
    ACME_ALLOW_PRIVATE_NETWORK: process.env.ACME_ALLOW_PRIVATE_NETWORK || 'true',
  };

  const sandbox = createSandbox({ seed: SEED, rateLimit: { capacity: 200, refillPerSecond: 100 }, faults: { duplicate: 0.05, reorder: 0.05, lose: 0.01, badData: 0.01 } });
  state.sandbox = sandbox;
  const sandboxUrl = await sandbox.listen({ port: PORTS.sandbox });
  log(`Acme sandbox at ${sandboxUrl}`);

  const supervisor = createSupervisor({
    logsDir: LOGS,
    maxRestarts: MAX_RESTARTS,
    log,
    onGiveUp: (reason) => void shutdown(1, `${reason}: stopping everything`),
    // Processes log JSON; warnings and errors reach the terminal, the progress line says the rest.
    onLine: (name, line) => {
      const level = /"level":"(\w+)"/.exec(line)?.[1];
      if (level === undefined || ['warn', 'error', 'fatal'].includes(level)) console.log(`[${name}] ${line}`);
    },
  });
  state.supervisor = supervisor;
  for (const name of ['edge', 'consumers', 'admin'] as const) {
    supervisor.start({ name, command: process.execPath, args: ['--import', 'tsx', '--import', './scripts/demo/orphan-guard.ts', 'src/main.ts', name], cwd: ROOT, env });
  }

  await Promise.all([waitForReady('edge', PORTS.edge, supervisor), waitForReady('consumers', PORTS.consumers, supervisor), waitForReady('admin', PORTS.admin, supervisor)]);
  log('edge, consumers and admin are ready');

  const run = sandbox.startGenerator({ accounts: ACCOUNTS, users: 4, contacts: 12, events: 1_000_000, rate: RATE, autoStart: false });
  for (const account of run.accounts) {
    const existing = await fetch(`http://127.0.0.1:${PORTS.admin}/admin/tenants/${account.account_id}`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (existing.status === 404) {
      await admin(adminToken, 'POST', '/admin/tenants', { id: account.account_id, name: account.name, acmeBaseUrl: sandboxUrl, authKind: 'api_key', acmeAccountId: account.account_id, credentials: { apiKey: account.api_key } });
    } else {
      await admin(adminToken, 'PATCH', `/admin/tenants/${account.account_id}`, { acmeBaseUrl: sandboxUrl, credentials: { apiKey: account.api_key } });
    }
    await admin(adminToken, 'POST', `/admin/tenants/${account.account_id}/activate`, {});
    log(`tenant ${account.account_id} (${account.name}) connected: webhooks subscribed, backfill started`);
  }
  run.start();

  const tenant = run.accounts[0]!.account_id;
  log(`generating ${RATE} Acme changes/s for ${ACCOUNTS} accounts. Where to look:`);
  log(`  settings:   http://127.0.0.1:${PORTS.admin}/settings  (sign in with the admin token below: sync activity, DLQ pages)`);
  log(`  touch-points: http://127.0.0.1:${PORTS.admin}/touchpoints  (same token; per user, day and channel)`);
  log(`  topics:     ${join(ROOT, 'docs', 'asyncapi.html')}  (the subscriber contract, schemas/asyncapi.yaml)`);
  log(`  metrics:    http://127.0.0.1:${PORTS.edge}/metrics  http://127.0.0.1:${PORTS.consumers}/metrics  http://127.0.0.1:${PORTS.admin}/metrics`);
  log(`  dashboard:  curl 'http://127.0.0.1:${PORTS.consumers}/dashboard/touchpoints?tenant=${tenant}&user=<usr_…>&from=2025-03-01&to=2025-03-15'`);
  log(`  admin API:  curl -H 'authorization: Bearer ${adminToken}' http://127.0.0.1:${PORTS.admin}/admin/tenants`);
  log(`  DLQ:        ${Object.entries(stackEnvVars).map(([k, v]) => `${k}=${v}`).join(' ')} MASTER_KEYS=$(cat ${join(CACHE, 'dev-master-keys')}) npx tsx src/main.ts dlq list`);
  log(`  logs:       ${LOGS}/{edge,consumers,admin}.log`);
  log('Ctrl-C stops everything.');

  const db = new pg.Client({ connectionString: stackEnvVars.DATABASE_URL, options: `-c search_path=${stackEnvVars.DATABASE_SCHEMA}` });
  state.db = db;
  await db.connect();
  let previous = await snapshot(db);
  // Events consumed per second over the last two minutes (24 samples of 5 s), as a sparkline.
  const rates = createSamples(24);
  state.timer = setInterval(() => {
    void snapshot(db).then((now) => {
      const seconds = (now.at - previous.at) / 1000;
      const rate = Math.round((now.received - previous.received) / seconds);
      rates.push(rate);
      const status = run.status();
      const lagHint = Math.max(0, sandbox.deliveries.pendingCount());
      // A number that stands still because a process is down must say so.
      const down = ['edge', 'consumers', 'admin'].filter((name) => supervisor.running()[name] === undefined);
      console.log(
        `[progress] ${down.length > 0 ? `DOWN: ${down.join(', ')} | ` : ''}Acme changes ${status.events_done} | consumed ${now.received} (${rate}/s ${sparkline(rates.values())}) | calendar events ${now.calendar} (${now.cancelled} cancelled) | touch-points ${now.touchpoints} | DLQ ${now.dlq} | webhooks pending at Acme ${lagHint}`,
      );
      previous = now;
    }).catch(() => undefined);
  }, 5_000);
}

main().catch((err: Error) => void shutdown(1, `failed: ${err.message}`));

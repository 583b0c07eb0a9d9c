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
 * DEMO_RATE (changes per second, default 20), DEMO_ACCOUNTS (3) and DEMO_SEED tune the traffic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { createSandbox } from '../sandbox/src/index.js';
import { stackDown, stackStatus, stackUp } from './stack/index.js';
import { CACHE, ROOT } from './stack/settings.js';

const PORTS = { edge: 3000, admin: 3001, consumers: 3002, sandbox: 4010 };
const RATE = Number(process.env.DEMO_RATE ?? 20);
const ACCOUNTS = Number(process.env.DEMO_ACCOUNTS ?? 3);
const SEED = Number(process.env.DEMO_SEED ?? 42);

const LOGS = join(ROOT, '.cache', 'logs');
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

function spawnProcess(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  // Its own process group: Ctrl-C reaches this script only, which stops the children in order.
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Every line goes to .cache/logs/<name>.log; warnings and errors also to the terminal.
  mkdirSync(LOGS, { recursive: true });
  const file = createWriteStream(join(LOGS, `${name}.log`), { flags: 'a' });
  const relay = (chunk: Buffer) => {
    file.write(chunk);
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      // Processes log JSON; show warnings and errors only, the progress line says the rest.
      const level = /"level":"(\w+)"/.exec(line)?.[1];
      if (level === undefined || ['warn', 'error', 'fatal'].includes(level)) console.log(`[${name}] ${line}`);
    }
  };
  proc.stdout?.on('data', relay);
  proc.stderr?.on('data', relay);
  proc.on('exit', (code, signal) => log(`${name} exited (${signal ?? code})`));
  return proc;
}

async function waitForHealth(name: string, port: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${name} did not become healthy on port ${port}`);
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
  const { rows } = await db.query<{ nspname: string }>("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'demo\\_%'");
  for (const { nspname } of rows) await db.query(`DROP SCHEMA ${pg.escapeIdentifier(nspname)} CASCADE`);
  await db.end();
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS!.split(','), logLevel: logLevel.NOTHING });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const old = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith('demo.'));
  if (old.length > 0) await kafkaAdmin.deleteTopics({ topics: old });
  await kafkaAdmin.disconnect();
  if (rows.length + old.length > 0) log(`removed the previous demo runs' data (${rows.length} schema(s), ${old.length} topic(s))`);
  return { KAFKA_TOPIC_PREFIX: `demo.${runId}.`, CONSUMER_GROUP_PREFIX: `demo.${runId}`, DATABASE_SCHEMA: `demo_${runId}` };
}

async function main(): Promise<void> {
  const wasRunning = (await stackStatus()).every((s) => s.healthy);
  const stackEnvVars = { ...(await stackUp((m) => console.log(`[stack] ${m}`))) };
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
    PUBLIC_BASE_URL: `http://127.0.0.1:${PORTS.edge}`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // The only Acme the demo's tenants may use is the local sandbox, on loopback (docs/SECURITY.md).
    ACME_ALLOWED_BASE_URLS: process.env.ACME_ALLOWED_BASE_URLS || `http://127.0.0.1:${PORTS.sandbox}`,
    ACME_ALLOW_PRIVATE_NETWORK: process.env.ACME_ALLOW_PRIVATE_NETWORK || 'true',
  };

  const sandbox = createSandbox({ seed: SEED, rateLimit: { capacity: 200, refillPerSecond: 100 }, faults: { duplicate: 0.05, reorder: 0.05, lose: 0.01, badData: 0.01 } });
  const sandboxUrl = await sandbox.listen({ port: PORTS.sandbox });
  log(`Acme sandbox at ${sandboxUrl}`);

  const children = [
    spawnProcess('edge', ['edge'], env),
    spawnProcess('consumers', ['consumers'], env),
    spawnProcess('admin', ['admin'], env),
  ];
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    log('stopping...');
    sandbox.generator()?.stop();
    await Promise.all(children.map((proc) => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 15_000).unref();
    })));
    await sandbox.close();
    if (!wasRunning) await stackDown({}, (m) => console.log(`[stack] ${m}`));
    log('stopped; nothing left running');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  await Promise.all([waitForHealth('edge', PORTS.edge), waitForHealth('consumers', PORTS.consumers), waitForHealth('admin', PORTS.admin)]);

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
  log(`  settings:   http://127.0.0.1:${PORTS.admin}/settings  (sign in with the admin token below)`);
  log(`  metrics:    http://127.0.0.1:${PORTS.edge}/metrics  http://127.0.0.1:${PORTS.consumers}/metrics  http://127.0.0.1:${PORTS.admin}/metrics`);
  log(`  dashboard:  curl 'http://127.0.0.1:${PORTS.consumers}/dashboard/touchpoints?tenant=${tenant}&user=<usr_…>&from=2025-03-01&to=2025-03-15'`);
  log(`  admin API:  curl -H 'authorization: Bearer ${adminToken}' http://127.0.0.1:${PORTS.admin}/admin/tenants`);
  log(`  DLQ:        ${Object.entries(stackEnvVars).map(([k, v]) => `${k}=${v}`).join(' ')} MASTER_KEYS=$(cat ${join(CACHE, 'dev-master-keys')}) npx tsx src/main.ts dlq list`);
  log(`  logs:       ${LOGS}/{edge,consumers,admin}.log`);
  log('Ctrl-C stops everything.');

  const db = new pg.Client({ connectionString: stackEnvVars.DATABASE_URL, options: `-c search_path=${stackEnvVars.DATABASE_SCHEMA}` });
  await db.connect();
  let previous = await snapshot(db);
  const timer = setInterval(() => {
    void snapshot(db).then((now) => {
      const seconds = (now.at - previous.at) / 1000;
      const rate = Math.round((now.received - previous.received) / seconds);
      const status = run.status();
      const lagHint = Math.max(0, sandbox.deliveries.pendingCount());
      console.log(
        `[progress] Acme changes ${status.events_done} | consumed ${now.received} (${rate}/s) | calendar events ${now.calendar} (${now.cancelled} cancelled) | touch-points ${now.touchpoints} | DLQ ${now.dlq} | webhooks pending at Acme ${lagHint}`,
      );
      previous = now;
    }).catch(() => undefined);
  }, 5_000);
  timer.unref();
  for (const proc of children) proc.on('exit', () => !stopping && void stop(1));
}

main().catch((err: Error) => {
  console.error(`[start] ${err.message}`);
  process.exit(1);
});

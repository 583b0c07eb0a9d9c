/**
 * Bugs (issue 13): `npm start` lost its consumers to EADDRINUSE on a port a previous run's
 * leftover process held, without naming it; a dead process went unmentioned while the
 * progress line printed `consumed 0 (0/s)` for minutes; a failed run left a process behind.
 *
 * The real demo (`bash scripts/start.sh`, the entry point of `npm start`) on the shared
 * stack, its own ports, namespace and log directory, low traffic:
 *   - a port taken before it starts: it names the holder and starts nothing;
 *   - a child SIGKILLed: it says so at once with the log's last lines, restarts it, and
 *     SIGTERM then leaves none of the processes it ever started running;
 *   - a child SIGKILLed with no restarts allowed: it stops everything and exits 1;
 *   - the demo itself SIGKILLed (no handler runs): its children still stop themselves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { canBind } from '../../scripts/demo/ports.js';
import { freePort, ROOT } from '../helpers/cli-process.js';
import { randomId, TEST_MASTER_KEY } from '../helpers/isolated-stack.js';

const env = inject('stack');
const namespaces: string[] = [];
const demos: ChildProcess[] = [];

afterAll(async () => {
  // Safety net only: each test already waited for its demo to exit.
  for (const demo of demos) if (demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid!, 'SIGKILL');
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  const kafka = new Kafka({ brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topics = await admin.listTopics();
  for (const ns of namespaces) {
    const { rows } = await db.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${ns}\\_%`]);
    for (const { nspname } of rows) await db.query(`DROP SCHEMA ${pg.escapeIdentifier(nspname)} CASCADE`);
    const mine = topics.filter((t) => t.startsWith(`${ns}.`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  }
  await admin.disconnect();
  await db.end();
});

interface Demo {
  proc: ChildProcess;
  ports: Record<'edge' | 'admin' | 'consumers' | 'sandbox', number>;
  output(): string;
  exit: Promise<number | null>;
}

async function startDemo(extra: Record<string, string> = {}, ports?: Demo['ports']): Promise<Demo> {
  const ns = randomId('dt');
  namespaces.push(ns);
  const p = ports ?? { edge: await freePort(), admin: await freePort(), consumers: await freePort(), sandbox: await freePort() };
  const proc = spawn('bash', ['scripts/start.sh'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, DATABASE_URL: env.DATABASE_URL,
      EDGE_PORT: String(p.edge), ADMIN_PORT: String(p.admin), CONSUMER_PORT: String(p.consumers), SANDBOX_PORT: String(p.sandbox),
      DEMO_NAMESPACE: ns, DEMO_LOGS_DIR: mkdtempSync(join(tmpdir(), 'demo-logs-')), DEMO_RATE: '2', DEMO_ACCOUNTS: '1', MASTER_KEYS: TEST_MASTER_KEY,
      ...extra,
    },
  });
  demos.push(proc);
  const chunks: string[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => chunks.push(c));
  const exit = once(proc, 'exit').then(([code]) => code as number | null);
  return { proc, ports: p, output: () => chunks.join(''), exit };
}

const pidsStarted = (output: string) => [...output.matchAll(/(\w+) started \(pid (\d+)\)/g)].map((m) => ({ name: m[1]!, pid: Number(m[2]) }));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function untilReady(demo: Demo): Promise<void> {
  await expect.poll(() => demo.output(), { timeout: 180_000, interval: 500 }).toMatch(/Ctrl-C stops everything|stopped;/);
  expect(demo.output(), demo.output().slice(-3000)).toContain('Ctrl-C stops everything');
}

async function expectNothingLeft(demo: Demo): Promise<void> {
  const started = pidsStarted(demo.output());
  expect(started.length).toBeGreaterThanOrEqual(3);
  expect(started.filter(({ pid }) => alive(pid)), 'processes left running').toEqual([]);
  for (const [name, port] of Object.entries(demo.ports)) expect(await canBind(port), `${name} port ${port} is free again`).toBe(true);
}

describe('npm start (scripts/start.sh)', () => {
  it('names the process holding one of its ports and starts nothing', async () => {
    const ports = { edge: await freePort(), admin: await freePort(), consumers: await freePort(), sandbox: await freePort() };
    const holder = createServer();
    holder.listen(ports.consumers, '127.0.0.1');
    await once(holder, 'listening');
    try {
      const demo = await startDemo({}, ports);
      expect(await demo.exit).toBe(1);
      expect(demo.output()).toContain(`port ${ports.consumers} (consumers) is already in use by pid ${process.pid} (`);
      expect(demo.output()).toContain('nothing was started');
      expect(pidsStarted(demo.output())).toEqual([]);
      expect(demo.output()).not.toContain('Acme sandbox at');
    } finally {
      holder.close();
    }
  }, 120_000);

  it('says at once that a killed process exited, shows its log, restarts it, and leaves nothing running after SIGTERM', async () => {
    const demo = await startDemo({ DEMO_MAX_RESTARTS: '1' });
    await untilReady(demo);
    const consumers = pidsStarted(demo.output()).find((p) => p.name === 'consumers')!;
    process.kill(consumers.pid, 'SIGKILL');
    await expect.poll(() => demo.output(), { timeout: 30_000 }).toMatch(/restarting consumers \(1 of 1\)\n[^]*consumers started \(pid \d+\)/);
    expect(demo.output()).toMatch(/consumers EXITED UNEXPECTEDLY \(SIGKILL\) after \d+s; last lines of .*consumers\.log:\n(\[start\]   \| .*\n)+/);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${demo.ports.consumers}/readyz`).catch(() => undefined))?.status, { timeout: 120_000, interval: 500 }).toBe(200);

    process.kill(demo.proc.pid!, 'SIGTERM');
    expect(await demo.exit).toBe(0);
    expect(demo.output()).toContain('stopped; nothing left running');
    expect(pidsStarted(demo.output()).filter((p) => p.name === 'consumers')).toHaveLength(2);
    await expectNothingLeft(demo);
  }, 300_000);

  it('points at the settings page and the touch-point dashboard (both answering) and draws a sparkline of events/s next to the progress line (issue 16)', async () => {
    const demo = await startDemo();
    await untilReady(demo);
    for (const path of ['/settings', '/touchpoints']) {
      expect(demo.output()).toContain(`http://127.0.0.1:${demo.ports.admin}${path}`);
      const res = await fetch(`http://127.0.0.1:${demo.ports.admin}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-security-policy'), path).toMatch(/script-src 'self'/);
    }
    await expect.poll(() => demo.output(), { timeout: 60_000, interval: 500 }).toMatch(/\[progress\] .*consumed \d+ \(\d+\/s [▁▂▃▄▅▆▇█]+\)/);
    process.kill(demo.proc.pid!, 'SIGTERM');
    expect(await demo.exit).toBe(0);
    await expectNothingLeft(demo);
  }, 300_000);

  it('stops everything and exits 1 when a process dies and no restart is left', async () => {
    const demo = await startDemo({ DEMO_MAX_RESTARTS: '0' });
    await untilReady(demo);
    const admin = pidsStarted(demo.output()).find((p) => p.name === 'admin')!;
    process.kill(admin.pid, 'SIGKILL');
    expect(await demo.exit).toBe(1);
    expect(demo.output()).toMatch(/admin EXITED UNEXPECTEDLY \(SIGKILL\)/);
    expect(demo.output()).toContain('admin exited unexpectedly: stopping everything');
    await expectNothingLeft(demo);
  }, 300_000);

  it('leaves nothing running even when the demo itself is SIGKILLed', async () => {
    const demo = await startDemo();
    await untilReady(demo);
    process.kill(demo.proc.pid!, 'SIGKILL');
    await demo.exit;
    const started = pidsStarted(demo.output());
    // Graceful first; the guard's SIGKILL comes 20 s after the orphaning at the latest.
    await expect.poll(() => started.filter(({ pid }) => alive(pid)), { timeout: 60_000, interval: 250 }).toEqual([]);
  }, 300_000);
});

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readLedger } from '../../src/consumers/runtime/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { TEST_MASTER_KEY } from '../helpers/isolated-stack.js';
import { appointment, eventually, useHarness } from './support/harness.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const h = useHarness();
const children = new Set<ChildProcess>();
/** The children's error logs, shown when an assertion fails. */
let stderr = '';
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

function startConsumers(groupPrefix: string): ChildProcess {
  const env = inject('stack');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'consumers', '--flows', 'calendar'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, DATABASE_URL: env.DATABASE_URL,
      KAFKA_TOPIC_PREFIX: `${h.stack.id}.`, KAFKA_PARTITIONS: '3', DATABASE_SCHEMA: h.stack.id, MASTER_KEYS: TEST_MASTER_KEY,
      CONSUMER_GROUP_PREFIX: groupPrefix, CONSUMER_PORT: '0', LOG_LEVEL: 'error',
      ACME_ALLOWED_BASE_URLS: 'http://127.0.0.1:*', ACME_ALLOW_PRIVATE_NETWORK: 'true',
    },
  });
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe('the consumer process', () => {
  it('ends with the produced calendar state after being SIGKILLed mid-stream and restarted, and stops cleanly on SIGTERM', async () => {
    const T = 'proc-a';
    await createApiKeyTenant(h.acme, h.tenants, T);
    const groupPrefix = `${h.stack.id}-proc`;
    // 12 appointments × 4 versions, versions arriving out of order for some.
    const events = Array.from({ length: 12 }, (_, i) => [2, 1, 4, 3].map((v) => ({ kind: 'appointments' as const, value: appointment({ tenant_id: T, acme_id: `apt_${i}`, acme_version: v, title: `a${i} v${v}` }) }))).flat();
    const expected = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`apt_${i}`, `a${i} v4`]));
    const rows = async () => Object.fromEntries((await h.calendarRows()).filter((r) => r.tenant_id === T).map((r) => [r.acme_appointment_id, r.title]));

    let child = startConsumers(groupPrefix);
    for (let round = 0; round < 3; round++) {
      const slice = events.slice(round * 12, round * 12 + 12);
      await h.produce(slice);
      // The first kill waits for a first write (mid-stream); the later ones hit whatever the
      // restarted process is doing (starting, joining, writing) with this round's records pending.
      if (round === 0) await eventually(async () => expect(Object.keys(await rows()).length).toBeGreaterThan(0), 60_000);
      child.kill('SIGKILL');
      expect(await exited(child)).toBeNull();
      child = startConsumers(groupPrefix);
    }
    await h.produce(events.slice(36));
    await eventually(async () => expect(await rows(), stderr).toEqual(expected), 90_000);
    const ledger = (await readLedger(h.stack.pool, `${groupPrefix}.calendar`)).find((r) => r.tenantId === T)!;
    expect(ledger.received).toBe(events.length);
    expect(ledger.received).toBe(ledger.written + ledger.dlq + ledger.skipped);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });
});

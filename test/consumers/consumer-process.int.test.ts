import { describe, expect, it, vi } from 'vitest';
import { readLedger } from '../../src/consumers/runtime/index.js';
import { createApiKeyTenant } from '../acme/sandbox-tenants.js';
import { appointment, useHarness } from './support/harness.js';
import { exited, useConsumerProcesses } from './support/process.js';

const h = useHarness();
const processes = useConsumerProcesses(h);
const startConsumers = (groupPrefix: string) => processes.start(groupPrefix);

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
      if (round === 0) await vi.waitFor(async () => expect(Object.keys(await rows()).length).toBeGreaterThan(0), { timeout: 60_000, interval: 200 });
      child.kill('SIGKILL');
      expect(await exited(child)).toBeNull();
      child = startConsumers(groupPrefix);
    }
    await h.produce(events.slice(36));
    await vi.waitFor(async () => expect(await rows(), processes.stderr()).toEqual(expected), { timeout: 90_000, interval: 200 });
    const ledger = (await readLedger(h.stack.pool, `${groupPrefix}.calendar`)).find((r) => r.tenantId === T)!;
    expect(ledger.received).toBe(events.length);
    expect(ledger.received).toBe(ledger.written + ledger.dlq + ledger.skipped);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });
});

/**
 * Issue 15: the Acme client's write path against the sandbox. patchAppointment and
 * deleteAppointment send If-Match and Idempotency-Key; Acme's refusals are classified
 * (412/409 → ACME_CONFLICT, 422 → ACME_VALIDATION_FAILED with field errors, 403 →
 * ACME_WRITE_FORBIDDEN, all permanent at stage writeback), and a write whose answer was
 * lost (client timeout while Acme is slow) is retried with the same key and applied once.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAcmeClient } from '../../src/acme/client.js';
import { ERROR_CODES } from '../../src/errors/index.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { caught } from '../helpers/caught.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { createApiKeyTenant, sandboxOutbound, seedAccount, startSandbox, tenantsOf, type RunningSandbox } from './sandbox-tenants.js';

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
const FAST_RETRY = { initialDelayMs: 10, maxDelayMs: 200, retries: 20, deadlineMs: 20_000 };

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  env = await startSandbox();
  ({ tenants } = tenantsOf(stack.pool, stack.config));
});
afterAll(async () => {
  await env?.sandbox.close();
  await stack?.close();
});

async function setup(name: string) {
  const t = await createApiKeyTenant(env, tenants, name);
  const seeded = seedAccount(env.sandbox, t.accountId, { appointments: 1 });
  const acme = createAcmeClient({ tenantId: t.tenantId, tenants, retry: FAST_RETRY, outbound: sandboxOutbound() });
  return { ...t, apt: seeded.appointments[0]!, acme };
}

const writes = (accountId: string) => env.sandbox.context.idempotency.stats(accountId);

describe('writing appointments back to Acme', () => {
  it('patches with If-Match and an idempotency key; the same key again is a replay, not a second write', async () => {
    const { acme, apt, accountId } = await setup('wb-patch');
    const first = await acme.patchAppointment(apt.id, { title: 'Moved', location: null }, { idempotencyKey: 'chg-1', ifMatchVersion: 1 });
    expect(first).toMatchObject({ replayed: false, appointment: { version: 2, title: 'Moved' } });
    const again = await acme.patchAppointment(apt.id, { title: 'Moved', location: null }, { idempotencyKey: 'chg-1', ifMatchVersion: 1 });
    expect(again).toMatchObject({ replayed: true, appointment: { version: 2 } });
    expect(writes(accountId)).toEqual([expect.objectContaining({ idempotency_key: 'chg-1', received: 2, applied: 1 })]);
    const deleted = await acme.deleteAppointment(apt.id, { idempotencyKey: 'chg-2', ifMatchVersion: 2 });
    expect(deleted.appointment.deleted_at).not.toBeNull();
  });

  it('classifies a stale version, a deleted record, bad values and a missing write scope as permanent errors', async () => {
    const { acme, apt, accountId, tenantId } = await setup('wb-errors');
    const stale = await caught(acme.patchAppointment(apt.id, { title: 'x' }, { idempotencyKey: 'k-stale', ifMatchVersion: 9 }));
    expect(stale).toMatchObject({ code: ERROR_CODES.ACME_CONFLICT, retriable: false, stage: 'writeback', context: { currentVersion: 1 } });
    const bad = await caught(acme.patchAppointment(apt.id, { ends_at: '2000-01-01T00:00:00.000Z', time_zone: 'Mars/Base' }, { idempotencyKey: 'k-bad' }));
    expect(bad).toMatchObject({ code: ERROR_CODES.ACME_VALIDATION_FAILED, retriable: false });
    expect(String(bad.context.fieldErrors).split(',')).toEqual(expect.arrayContaining(['time_zone:custom']));

    const readOnly = env.sandbox.auth.createApiKey(accountId, undefined, ['crm.read']);
    await tenants.updateSecrets(tenantId, (s) => ({ ...s, apiKey: readOnly }));
    const forbidden = await caught(acme.patchAppointment(apt.id, { title: 'x' }, { idempotencyKey: 'k-scope' }));
    expect(forbidden).toMatchObject({ code: ERROR_CODES.ACME_WRITE_FORBIDDEN, retriable: false });
    expect(forbidden.message).toMatch(/crm\.write/);
    expect(forbidden.message).not.toContain(readOnly);

    const full = env.sandbox.auth.createApiKey(accountId);
    await tenants.updateSecrets(tenantId, (s) => ({ ...s, apiKey: full }));
    await acme.deleteAppointment(apt.id, { idempotencyKey: 'k-del' });
    const gone = await caught(acme.patchAppointment(apt.id, { title: 'x' }, { idempotencyKey: 'k-gone' }));
    expect(gone).toMatchObject({ code: ERROR_CODES.ACME_CONFLICT, context: { reason: 'deleted' } });
  });

  it('retries a write whose answer was lost (applied, connection dropped) with the same key: applied once', async () => {
    const { acme, apt, accountId } = await setup('wb-lost');
    env.sandbox.faults.set({ lostAnswer: 1 });
    const pending = acme.patchAppointment(apt.id, { title: 'Once' }, { idempotencyKey: 'k-lost', ifMatchVersion: 1 });
    try {
      // Every answer is lost while the switch is on: the write is applied once and then only replayed.
      await expect.poll(() => writes(accountId).find((w) => w.idempotency_key === 'k-lost')?.received ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    } finally {
      env.sandbox.faults.set({ lostAnswer: 0 });
    }
    const ack = await pending;
    expect(ack).toMatchObject({ replayed: true, appointment: { version: 2, title: 'Once' } });
    expect(env.sandbox.store.get('appointment', accountId, apt.id)!.version).toBe(2);
    expect(writes(accountId).find((w) => w.idempotency_key === 'k-lost')).toMatchObject({ applied: 1 });
  });
});

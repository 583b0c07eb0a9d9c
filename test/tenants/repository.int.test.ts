import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/index.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../../src/tenants/repository.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
let tenants: TenantRepository;
const OLD = { id: 'old', key: Buffer.alloc(32, 1) };
const NEW = { id: 'new', key: Buffer.alloc(32, 2) };
const CANARY_KEY = 'ak_canary_repository_7f7f7f';
const CANARY_TOKEN = 'rt_canary_refresh_6e6e6e';
const CANARY_WHSEC = 'whsec_Y2FuYXJ5LXJlcG8tc2VjcmV0';

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  tenants = createTenantRepository(stack.pool, createSecretBox([OLD]));
});
afterAll(async () => stack?.close());

async function createWithCanaries(id: string, repo = tenants) {
  return repo.create({
    id, name: id, acmeBaseUrl: 'http://127.0.0.1:4010', authKind: 'oauth',
    secrets: { apiKey: CANARY_KEY, oauth: { accessToken: 'at_canary_access', refreshToken: CANARY_TOKEN, expiresAt: 1 }, webhookSecrets: [CANARY_WHSEC] },
  });
}

describe('tenant secrets at rest', () => {
  it('never stores a secret readable in PostgreSQL: a SELECT * dump of the tenants table holds no canary', async () => {
    await createWithCanaries('repo-dump');
    const { rows } = await stack.pool.query('SELECT * FROM tenants');
    const dump = JSON.stringify(rows);
    expect(dump).toContain('repo-dump');
    for (const canary of ['canary', 'Y2FuYXJ5']) expect(dump).not.toContain(canary);
  });

  it('answers secrets only through getWithSecrets, and only their presence elsewhere', async () => {
    const created = await createWithCanaries('repo-shown');
    expect(created.secretsSet).toEqual({ apiKey: true, oauth: true, webhookSecrets: 1 });
    expect(JSON.stringify([created, await tenants.get('repo-shown'), await tenants.list()])).not.toContain('canary');
    expect((await tenants.getWithSecrets('repo-shown'))!.secrets.oauth!.refreshToken).toBe(CANARY_TOKEN);
  });

  it('refuses to decrypt a ciphertext copied into another tenant\'s row, without the secret in the error', async () => {
    await createWithCanaries('repo-victim');
    await tenants.create({ id: 'repo-thief', name: 'thief', acmeBaseUrl: 'http://127.0.0.1:4010', authKind: 'api_key' });
    await stack.pool.query(`UPDATE tenants SET secrets_ciphertext = (SELECT secrets_ciphertext FROM tenants WHERE id = 'repo-victim') WHERE id = 'repo-thief'`);
    const err = await tenants.getWithSecrets('repo-thief').then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(err?.code).toBe(ERROR_CODES.SECRET_UNREADABLE);
    expect(`${err?.message} ${JSON.stringify(err)}`).not.toContain('canary');
    await tenants.delete('repo-thief');
  });

  it('re-encrypts every tenant under a new master key with reencryptAll, after which the old key can go', async () => {
    await createWithCanaries('repo-rotate');
    const rotating = createTenantRepository(stack.pool, createSecretBox([NEW, OLD]));
    const before = await stack.pool.query<{ n: string }>(`SELECT count(*) AS n FROM tenants WHERE secrets_key_id = 'old'`);
    expect(await rotating.reencryptAll()).toBe(Number(before.rows[0]!.n));
    expect(await rotating.reencryptAll()).toBe(0);
    const { rows } = await stack.pool.query<{ secrets_key_id: string }>('SELECT DISTINCT secrets_key_id FROM tenants');
    expect(rows.map((r) => r.secrets_key_id)).toEqual(['new']);
    const newOnly = createTenantRepository(stack.pool, createSecretBox([NEW]));
    expect((await newOnly.getWithSecrets('repo-rotate'))!.secrets.apiKey).toBe(CANARY_KEY);
    await expect(tenants.getWithSecrets('repo-rotate')).rejects.toMatchObject({ code: ERROR_CODES.SECRET_UNREADABLE });
  });

  it('serialises concurrent secret updates under the row lock: no update is lost', async () => {
    const repo = createTenantRepository(stack.pool, createSecretBox([NEW, OLD]));
    await repo.create({ id: 'repo-race', name: 'race', acmeBaseUrl: 'http://127.0.0.1:4010', authKind: 'api_key' });
    await Promise.all(Array.from({ length: 8 }, (_, i) => repo.updateSecrets('repo-race', (s) => ({ ...s, webhookSecrets: [...s.webhookSecrets, `whsec_${i}`] }))));
    expect((await repo.getWithSecrets('repo-race'))!.secrets.webhookSecrets).toHaveLength(8);
  });
});

describe('tenant versions (what every process\'s cached Acme client checks, docs/SECURITY.md)', () => {
  it('bumps the version on every change of secrets, base URL or status, and answers none for an unknown tenant', async () => {
    await createWithCanaries('repo-version');
    const versions = [await tenants.versionOf('repo-version')];
    await tenants.updateSecrets('repo-version', (s) => ({ ...s, apiKey: 'ak_rotated' }));
    versions.push(await tenants.versionOf('repo-version'));
    await tenants.update('repo-version', { acmeBaseUrl: 'http://127.0.0.1:4011' });
    versions.push(await tenants.versionOf('repo-version'));
    await tenants.setStatus('repo-version', 'paused');
    versions.push(await tenants.versionOf('repo-version'));
    expect(versions.every((v, i) => i === 0 || v! > versions[i - 1]!)).toBe(true);
    expect((await tenants.get('repo-version'))!.version).toBe(versions.at(-1));
    expect(await tenants.versionOf('repo-nobody')).toBeUndefined();
  });
});

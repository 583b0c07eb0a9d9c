/**
 * Bugs (issue 13):
 * - with a well-formed but wrong MASTER_KEYS the edge started and /readyz said ready while
 *   every webhook got 500 SECRET_UNREADABLE;
 * - a typo in DATABASE_URL's database name silently created, migrated and served an empty
 *   database.
 * Start-up now fails naming the setting to fix. The key cases are generated: what the
 * database holds (a canary of the key ID, a tenant sealed with it, both, neither) × the key
 * given (the right one, a wrong one under the same ID); plus key IDs in use but not
 * configured, rotation, and a real `acme-sync edge` with a wrong key.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bootstrap } from '../../src/bootstrap.js';
import { createLogger } from '../../src/logger.js';
import { createTenantRepository } from '../../src/tenants/repository.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';
import { freePort, spawnCli } from '../helpers/cli-process.js';
import { createIsolatedStack, isolatedConfig, randomId, TEST_MASTER_KEY, type IsolatedStack } from '../helpers/isolated-stack.js';

const env = inject('stack');
const silent = () => createLogger({ level: 'silent', name: 'checks' });
const wrongKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const stacks: IsolatedStack[] = [];

afterAll(async () => {
  for (const s of stacks) await s.close();
});

async function freshStack(): Promise<IsolatedStack> {
  const stack = await createIsolatedStack(env);
  stacks.push(stack);
  return stack;
}

async function addTenant(stack: IsolatedStack, keys: string): Promise<void> {
  const box = createSecretBox(isolatedConfig(env, stack.id, { MASTER_KEYS: keys }).MASTER_KEYS);
  await createTenantRepository(stack.pool, box).create({ id: randomId('tn'), name: 'T', acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', secrets: { apiKey: 'k' } });
}

/** Bootstrap the stack's names with `keys`; resolves to the error or undefined. */
async function start(stack: IsolatedStack, keys: string): Promise<Error | undefined> {
  try {
    const runtime = await bootstrap(isolatedConfig(env, stack.id, { MASTER_KEYS: keys }), silent());
    await runtime.close();
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

describe('start-up with MASTER_KEYS', () => {
  const holds = [
    { canary: false, tenant: false },
    { canary: true, tenant: false },
    { canary: false, tenant: true },
    { canary: true, tenant: true },
  ];
  for (const { canary, tenant } of holds) {
    for (const right of [true, false]) {
      const what = `${canary ? 'a canary' : 'no canary'} and ${tenant ? 'a tenant' : 'no tenant'} sealed with key "test"`;
      const mustFail = !right && (canary || tenant);
      it(`with ${what}, ${right ? 'the right' : 'a wrong'} key "test" ${mustFail ? 'fails naming MASTER_KEYS' : 'starts'}`, async () => {
        const stack = await freshStack();
        if (canary) expect(await start(stack, TEST_MASTER_KEY)).toBeUndefined();
        if (tenant) await addTenant(stack, TEST_MASTER_KEY);
        if (!canary) await stack.pool.query('DELETE FROM master_key_canaries');
        const err = await start(stack, right ? TEST_MASTER_KEY : wrongKey('test'));
        if (mustFail) {
          expect(err?.message).toMatch(/MASTER_KEYS: .*key "test"/);
          expect(err).toMatchObject({ code: 'CONFIG_INVALID', retriable: false });
        } else {
          expect(err).toBeUndefined();
        }
      });
    }
  }

  it('fails naming MASTER_KEYS when tenant secrets are sealed with a key ID it does not list', async () => {
    const stack = await freshStack();
    await addTenant(stack, wrongKey('retired'));
    expect((await start(stack, TEST_MASTER_KEY))?.message).toMatch(/MASTER_KEYS: tenant secrets are sealed with key "retired"/);
  });

  it('starts during a rotation: a new first key gets its own canary, the old one still opens the tenants', async () => {
    const stack = await freshStack();
    await addTenant(stack, TEST_MASTER_KEY);
    const next = wrongKey('next');
    expect(await start(stack, `${next},${TEST_MASTER_KEY}`)).toBeUndefined();
    const { rows } = await stack.pool.query<{ key_id: string }>('SELECT key_id FROM master_key_canaries ORDER BY key_id');
    expect(rows.map((r) => r.key_id)).toEqual(['next', 'test']);
    expect((await start(stack, `${wrongKey('next')},${TEST_MASTER_KEY}`))?.message).toMatch(/MASTER_KEYS: .*key "next"/);
  });

  it('makes a real acme-sync edge exit naming MASTER_KEYS, never ready, when its key is wrong', async () => {
    const stack = await freshStack();
    await addTenant(stack, TEST_MASTER_KEY);
    const port = await freePort();
    const edge = spawnCli('edge', ['edge'], {
      KAFKA_BROKERS: env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL, DATABASE_URL: env.DATABASE_URL,
      KAFKA_TOPIC_PREFIX: stack.config.KAFKA_TOPIC_PREFIX, DATABASE_SCHEMA: stack.id, KAFKA_PARTITIONS: '3',
      MASTER_KEYS: wrongKey('test'), HTTP_HOST: '127.0.0.1', EDGE_PORT: String(port), LOG_LEVEL: 'warn',
    });
    await expect(edge.ready(port)).rejects.toThrow(/exited \(1\) before it was ready/);
    expect(edge.output()).toMatch(/MASTER_KEYS: key "test" is not the key that sealed its canary|MASTER_KEYS: key "test" does not open tenant/);
  });
});

describe('start-up with DATABASE_URL naming a database that does not exist', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: env.DATABASE_URL });
    await admin.connect();
  });
  afterAll(async () => admin?.end());

  it('fails at once naming DATABASE_URL and the database, and creates nothing', async () => {
    const id = randomId('nodb');
    const url = new URL(env.DATABASE_URL);
    url.pathname = `/${id}_typo`;
    const missing = await bootstrap(isolatedConfig(env, id, { DATABASE_URL: url.toString() }), silent()).then(
      async (runtime) => { await runtime.close(); return undefined; },
      (e: Error) => e,
    );
    expect(missing?.message).toMatch(new RegExp(`DATABASE_URL: database "${id}_typo" does not exist on`));
    expect(missing).toMatchObject({ code: 'CONFIG_INVALID', retriable: false });
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [`${id}_typo`]);
    expect(rowCount).toBe(0);
  });
});

describe('a start-up step that cannot succeed', () => {
  it('names the setting that points at the dependency: a schema registry URL that answers 404', async () => {
    const stack = await freshStack();
    const wrong = new URL(env.SCHEMA_REGISTRY_URL);
    wrong.pathname = '/apis/no-such-api/v7';
    const err = await bootstrap(isolatedConfig(env, stack.id, { SCHEMA_REGISTRY_URL: wrong.toString() }), silent()).then(
      async (runtime) => { await runtime.close(); return undefined; },
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^SCHEMA_REGISTRY_URL: Schema registry answered 404/);
    expect(err).toMatchObject({ retriable: false });
  });
});

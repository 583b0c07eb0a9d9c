import type { Command } from 'commander';
import { createAdminTokenStore } from '../admin/tokens.js';
import { isAllowedBaseUrl } from '../acme/outbound.js';
import { loadConfig } from '../config/index.js';
import { createPool, migrate } from '../db/index.js';
import { createLogger } from '../logger.js';
import { createSecretBox } from '../tenants/secret-box.js';
import { createTenantRepository, type TenantRepository } from '../tenants/repository.js';
import type pg from 'pg';

/** Only PostgreSQL is needed here: migrate, then run `fn` with a pool and the repository. */
async function withTenants<T>(fn: (tenants: TenantRepository, pool: pg.Pool) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, name: 'acme-sync-tenants' });
  await migrate({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, logger });
  const pool = createPool({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, poolMax: 2, logger });
  try {
    return await fn(createTenantRepository(pool, createSecretBox(config.MASTER_KEYS)), pool);
  } finally {
    await pool.end();
  }
}

/**
 * `acme-sync tenants ...`: create and list tenants, issue admin tokens, and re-encrypt
 * secrets after a master-key rotation. Secrets given here are stored encrypted and never
 * printed; an issued token is printed once.
 */
export function registerTenants(program: Command): void {
  const tenants = program.command('tenants').description('manage tenants, admin tokens and secret encryption');

  tenants
    .command('create')
    .description('create a tenant')
    .requiredOption('--id <id>', 'tenant ID (2-63 of a-z 0-9 _ -)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--base-url <url>', "Acme API base URL of the tenant's account")
    .option('--auth <kind>', 'api_key or oauth', 'api_key')
    .option('--api-key-env <var>', 'read the Acme API key from this environment variable (keeps it out of the shell history)')
    .option('--account-id <id>', 'Acme account ID')
    .action(async (opts: { id: string; name: string; baseUrl: string; auth: string; apiKeyEnv?: string; accountId?: string }) => {
      if (opts.auth !== 'api_key' && opts.auth !== 'oauth') throw new Error(`--auth: expected api_key or oauth (got ${JSON.stringify(opts.auth)})`);
      const apiKey = opts.apiKeyEnv ? process.env[opts.apiKeyEnv] : undefined;
      if (opts.apiKeyEnv && !apiKey) throw new Error(`--api-key-env: ${opts.apiKeyEnv} is not set`);
      const allowed = loadConfig().ACME_ALLOWED_BASE_URLS;
      if (!isAllowedBaseUrl(opts.baseUrl, allowed)) throw new Error(`--base-url: not in ACME_ALLOWED_BASE_URLS (${allowed.join(', ') || 'none configured'})`);
      const tenant = await withTenants((t) => t.create({
        id: opts.id, name: opts.name, acmeBaseUrl: opts.baseUrl, authKind: opts.auth as 'api_key' | 'oauth',
        acmeAccountId: opts.accountId ?? null, secrets: apiKey ? { apiKey } : {},
      }));
      console.log(JSON.stringify(tenant, null, 2));
    });

  tenants
    .command('list')
    .description('list tenants (no secrets)')
    .action(async () => {
      const all = await withTenants((t) => t.list());
      for (const t of all) console.log(`${t.id}\t${t.status}\t${t.authKind}\t${t.acmeBaseUrl}\t${t.name}`);
    });

  tenants
    .command('token')
    .description('issue an admin API token for one tenant (--tenant) or for all tenants (--operator); printed once')
    .option('--tenant <id>', 'the tenant the token may manage')
    .option('--operator', 'a token for every tenant')
    .option('--description <text>', 'what the token is for')
    .action(async (opts: { tenant?: string; operator?: boolean; description?: string }) => {
      if (Boolean(opts.tenant) === Boolean(opts.operator)) throw new Error('give exactly one of --tenant <id> or --operator');
      const issued = await withTenants(async (t, pool) => {
        if (opts.tenant && !(await t.get(opts.tenant))) throw new Error(`--tenant: unknown tenant ${opts.tenant}`);
        return createAdminTokenStore(pool).issue({ tenantId: opts.tenant ?? null, description: opts.description });
      });
      console.log(`token id: ${issued.tokenId}\nscope:    ${issued.tenantId ?? 'operator (all tenants)'}\ntoken:    ${issued.token}\n(shown once; only its SHA-256 is stored)`);
    });

  tenants
    .command('rotate-keys')
    .description('re-encrypt every tenant whose secrets use an older master key (the first of MASTER_KEYS encrypts)')
    .action(async () => {
      const n = await withTenants((t) => t.reencryptAll());
      console.log(`re-encrypted ${n} tenant(s)`);
    });
}

/**
 * Tenants in PostgreSQL. Secrets are sealed into one ciphertext per tenant
 * (see secret-box.ts); everything else is plain columns and a settings document.
 */
import type pg from 'pg';
import { ERROR_CODES, PermanentError, ValidationError } from '../errors/index.js';
import { withTransaction } from '../db/index.js';
import type { SecretBox } from './secret-box.js';
import {
  TENANT_ID, tenantSettingsSchema,
  type AcmeUserRecord, type AuthKind, type Tenant, type TenantSecrets, type TenantSettingsInput, type TenantStatus, type TenantWithSecrets,
} from './types.js';

export interface NewTenant {
  id: string;
  name: string;
  acmeBaseUrl: string;
  authKind: AuthKind;
  secrets?: Partial<TenantSecrets>;
  settings?: TenantSettingsInput;
  acmeAccountId?: string | null;
}

export interface TenantPatch {
  name?: string;
  acmeBaseUrl?: string;
  /** Merged over the current settings, one level deep (e.g. `{ flows: { calendar: false } }` keeps touchpoints). */
  settings?: Partial<TenantSettingsInput>;
  webhookSubscriptionId?: string | null;
  acmeAccountId?: string | null;
}

interface Row {
  id: string;
  name: string;
  status: TenantStatus;
  acme_base_url: string;
  acme_account_id: string | null;
  auth_kind: AuthKind;
  secrets_ciphertext: string;
  secrets_key_id: string;
  settings: unknown;
  webhook_subscription_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface TenantRepository {
  create(input: NewTenant): Promise<Tenant>;
  get(id: string): Promise<Tenant | undefined>;
  /** The tenants of these ids that exist, in one query (the consumers load a batch's tenants at once). */
  getMany(ids: readonly string[]): Promise<Tenant[]>;
  getWithSecrets(id: string): Promise<TenantWithSecrets | undefined>;
  list(): Promise<Tenant[]>;
  update(id: string, patch: TenantPatch): Promise<Tenant>;
  setStatus(id: string, status: TenantStatus): Promise<Tenant>;
  /** The row's version (bumped by every change, secrets included); undefined for an unknown tenant. */
  versionOf(id: string): Promise<number | undefined>;
  /** Read-modify-write of the secrets under a row lock (token refresh, secret rotation); bumps the version. */
  updateSecrets(id: string, change: (current: TenantSecrets) => TenantSecrets): Promise<void>;
  delete(id: string): Promise<boolean>;
  /** Re-seal every tenant whose secrets were sealed with an older master key; returns how many. */
  reencryptAll(): Promise<number>;
  upsertAcmeUsers(users: readonly AcmeUserRecord[]): Promise<void>;
  getAcmeUser(tenantId: string, acmeUserId: string): Promise<AcmeUserRecord | undefined>;
  /** The stored Acme users of these (tenant, user) pairs, in one query. */
  getAcmeUsers(keys: readonly { tenantId: string; acmeUserId: string }[]): Promise<AcmeUserRecord[]>;
}

const EMPTY_SECRETS: TenantSecrets = { webhookSecrets: [] };

function assertTenantId(id: string): void {
  if (!TENANT_ID.test(id)) throw new ValidationError('id: expected 2-63 lower-case letters, digits, "_" or "-", starting with a letter or digit', { context: { field: 'id' } });
}

function assertUrl(field: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`${field}: expected an http(s) URL`, { context: { field } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(`${field}: expected an http(s) URL`, { context: { field } });
}

/** zod's issues as one message naming each bad path under `settings`. */
export function parseSettings(input: unknown) {
  const parsed = tenantSettingsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0]!;
  const path = ['settings', ...first.path.map(String)].join('.');
  throw new ValidationError(`${path}: ${first.message}`, { context: { field: path } });
}

function mergeSettings(current: unknown, patch: Partial<TenantSettingsInput>): unknown {
  const base = (current ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const prev = base[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && prev !== null && typeof prev === 'object' && !Array.isArray(prev) ? { ...prev, ...v } : v;
  }
  return out;
}

export function createTenantRepository(pool: pg.Pool, box: SecretBox): TenantRepository {
  const openSecrets = (row: Row): TenantSecrets => JSON.parse(box.open(row.id, row.secrets_ciphertext)) as TenantSecrets;

  const toTenant = (row: Row): Tenant => {
    const secrets = openSecrets(row);
    return {
      id: row.id,
      name: row.name,
      status: row.status,
      acmeBaseUrl: row.acme_base_url,
      acmeAccountId: row.acme_account_id,
      authKind: row.auth_kind,
      settings: tenantSettingsSchema.parse(row.settings),
      webhookSubscriptionId: row.webhook_subscription_id,
      secretsSet: { apiKey: Boolean(secrets.apiKey), oauth: Boolean(secrets.oauth), webhookSecrets: secrets.webhookSecrets.length },
      version: row.version,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    };
  };

  const one = async (sql: string, params: unknown[]): Promise<Row | undefined> => (await pool.query<Row>(sql, params)).rows[0];
  const mustExist = (row: Row | undefined, id: string): Row => {
    if (row === undefined) throw new PermanentError(`Unknown tenant ${id}`, { code: ERROR_CODES.UNKNOWN_TENANT, context: { tenantId: id } });
    return row;
  };

  return {
    async create(input) {
      assertTenantId(input.id);
      if (!input.name || input.name.length > 200) throw new ValidationError('name: expected 1-200 characters', { context: { field: 'name' } });
      assertUrl('acmeBaseUrl', input.acmeBaseUrl);
      const settings = parseSettings(input.settings ?? {});
      const sealed = box.seal(input.id, JSON.stringify({ ...EMPTY_SECRETS, ...input.secrets }));
      try {
        const row = await one(
          `INSERT INTO tenants (id, name, acme_base_url, acme_account_id, auth_kind, secrets_ciphertext, secrets_key_id, settings)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [input.id, input.name, input.acmeBaseUrl, input.acmeAccountId ?? null, input.authKind, sealed.ciphertext, sealed.keyId, settings],
        );
        return toTenant(row!);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new PermanentError(`Tenant ${input.id} already exists`, { code: ERROR_CODES.TENANT_CONFLICT, context: { tenantId: input.id } });
        throw err;
      }
    },
    async get(id) {
      const row = await one('SELECT * FROM tenants WHERE id = $1', [id]);
      return row && toTenant(row);
    },
    async getMany(ids) {
      if (ids.length === 0) return [];
      const { rows } = await pool.query<Row>('SELECT * FROM tenants WHERE id = ANY($1::text[])', [[...ids]]);
      return rows.map(toTenant);
    },
    async getWithSecrets(id) {
      const row = await one('SELECT * FROM tenants WHERE id = $1', [id]);
      return row && { ...toTenant(row), secrets: openSecrets(row) };
    },
    async list() {
      const { rows } = await pool.query<Row>('SELECT * FROM tenants ORDER BY id');
      return rows.map(toTenant);
    },
    async update(id, patch) {
      if (patch.name !== undefined && (!patch.name || patch.name.length > 200)) throw new ValidationError('name: expected 1-200 characters', { context: { field: 'name' } });
      if (patch.acmeBaseUrl !== undefined) assertUrl('acmeBaseUrl', patch.acmeBaseUrl);
      return withTransaction(pool, async (client) => {
        const current = mustExist((await client.query<Row>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [id])).rows[0], id);
        const settings = patch.settings === undefined ? current.settings : parseSettings(mergeSettings(current.settings, patch.settings));
        const { rows } = await client.query<Row>(
          `UPDATE tenants SET name = $2, acme_base_url = $3, settings = $4, webhook_subscription_id = $5, acme_account_id = $6,
             version = version + 1, updated_at = now() WHERE id = $1 RETURNING *`,
          [
            id, patch.name ?? current.name, patch.acmeBaseUrl ?? current.acme_base_url, settings,
            patch.webhookSubscriptionId === undefined ? current.webhook_subscription_id : patch.webhookSubscriptionId,
            patch.acmeAccountId === undefined ? current.acme_account_id : patch.acmeAccountId,
          ],
        );
        return toTenant(rows[0]!);
      });
    },
    async setStatus(id, status) {
      return toTenant(mustExist(await one('UPDATE tenants SET status = $2, version = version + 1, updated_at = now() WHERE id = $1 RETURNING *', [id, status]), id));
    },
    async versionOf(id) {
      const { rows } = await pool.query<{ version: number }>('SELECT version FROM tenants WHERE id = $1', [id]);
      return rows[0]?.version;
    },
    async updateSecrets(id, change) {
      await withTransaction(pool, async (client) => {
        const current = mustExist((await client.query<Row>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [id])).rows[0], id);
        const next = change(openSecrets(current));
        const sealed = box.seal(id, JSON.stringify(next));
        // The version bump is what tells every process's cached Acme client to re-read the credentials.
        await client.query('UPDATE tenants SET secrets_ciphertext = $2, secrets_key_id = $3, version = version + 1, updated_at = now() WHERE id = $1', [id, sealed.ciphertext, sealed.keyId]);
      });
    },
    async delete(id) {
      const { rowCount } = await pool.query('DELETE FROM tenants WHERE id = $1', [id]);
      return (rowCount ?? 0) > 0;
    },
    async reencryptAll() {
      const { rows } = await pool.query<{ id: string }>('SELECT id FROM tenants WHERE secrets_key_id <> $1', [box.activeKeyId]);
      for (const { id } of rows) await this.updateSecrets(id, (s) => s);
      return rows.length;
    },
    async upsertAcmeUsers(users) {
      if (users.length === 0) return;
      await pool.query(
        `INSERT INTO acme_users (tenant_id, acme_user_id, email, name, time_zone)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         ON CONFLICT (tenant_id, acme_user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, time_zone = EXCLUDED.time_zone, updated_at = now()`,
        [users.map((u) => u.tenantId), users.map((u) => u.acmeUserId), users.map((u) => u.email?.toLowerCase() ?? null), users.map((u) => u.name), users.map((u) => u.timeZone)],
      );
    },
    async getAcmeUser(tenantId, acmeUserId) {
      const { rows } = await pool.query<{ email: string | null; name: string | null; time_zone: string | null }>(
        'SELECT email, name, time_zone FROM acme_users WHERE tenant_id = $1 AND acme_user_id = $2',
        [tenantId, acmeUserId],
      );
      const r = rows[0];
      return r && { tenantId, acmeUserId, email: r.email, name: r.name, timeZone: r.time_zone };
    },
    async getAcmeUsers(keys) {
      if (keys.length === 0) return [];
      const { rows } = await pool.query<{ tenant_id: string; acme_user_id: string; email: string | null; name: string | null; time_zone: string | null }>(
        `SELECT u.tenant_id, u.acme_user_id, u.email, u.name, u.time_zone
         FROM acme_users u JOIN UNNEST($1::text[], $2::text[]) AS k (tenant_id, acme_user_id) USING (tenant_id, acme_user_id)`,
        [keys.map((k) => k.tenantId), keys.map((k) => k.acmeUserId)],
      );
      return rows.map((r) => ({ tenantId: r.tenant_id, acmeUserId: r.acme_user_id, email: r.email, name: r.name, timeZone: r.time_zone }));
    },
  };
}

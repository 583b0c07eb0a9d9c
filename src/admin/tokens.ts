/**
 * Admin API bearer tokens. Only a SHA-256 of each token is stored: a database dump does
 * not give access. A token is scoped to one tenant or, with tenant NULL, to all of them
 * (an operator token). The optional bootstrap token (ADMIN_BOOTSTRAP_TOKEN) is an
 * operator token that lives only in the environment, to create the first stored ones.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';

export interface AdminPrincipal {
  tokenId: string;
  /** null: operator, may see every tenant. */
  tenantId: string | null;
}

export interface IssuedToken extends AdminPrincipal {
  /** Shown once; never stored. */
  token: string;
}

export interface AdminTokenStore {
  issue(input: { tenantId: string | null; description?: string }): Promise<IssuedToken>;
  verify(token: string): Promise<AdminPrincipal | undefined>;
  revoke(tokenId: string): Promise<boolean>;
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function createAdminTokenStore(pool: pg.Pool, options: { bootstrapToken?: string } = {}): AdminTokenStore {
  const bootstrapHash = options.bootstrapToken ? Buffer.from(sha256(options.bootstrapToken), 'hex') : undefined;
  return {
    async issue({ tenantId, description }) {
      const token = `ast_${randomBytes(32).toString('base64url')}`;
      const tokenId = `adt_${randomBytes(6).toString('hex')}`;
      await pool.query('INSERT INTO admin_tokens (id, token_sha256, tenant_id, description) VALUES ($1, $2, $3, $4)', [tokenId, sha256(token), tenantId, description ?? null]);
      return { tokenId, tenantId, token };
    },
    async verify(token) {
      if (bootstrapHash && timingSafeEqual(Buffer.from(sha256(token), 'hex'), bootstrapHash)) return { tokenId: 'bootstrap', tenantId: null };
      // A read first: an unknown token (what a flood of garbage sends) costs no write. Only a
      // known token records its use, at most once a minute.
      const hash = sha256(token);
      const { rows } = await pool.query<{ id: string; tenant_id: string | null; stale: boolean }>(
        `SELECT id, tenant_id, (last_used_at IS NULL OR last_used_at < now() - interval '1 minute') AS stale
         FROM admin_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL`,
        [hash],
      );
      const r = rows[0];
      if (!r) return undefined;
      if (r.stale) await pool.query('UPDATE admin_tokens SET last_used_at = now() WHERE id = $1', [r.id]);
      return { tokenId: r.id, tenantId: r.tenant_id };
    },
    async revoke(tokenId) {
      const { rowCount } = await pool.query('UPDATE admin_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [tokenId]);
      return (rowCount ?? 0) > 0;
    },
  };
}

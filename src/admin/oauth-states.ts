/**
 * Single-use OAuth `state` values (RFC 6749 §10.12, CSRF protection): random, stored
 * hashed with the tenant and redirect URI they were issued for, deleted when used,
 * refused once expired.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { sha256 } from './tokens.js';

export interface OAuthStateStore {
  issue(tenantId: string, redirectUri: string): Promise<string>;
  /** The tenant and redirect URI the state was issued for, once; undefined when unknown, used or expired. */
  consume(state: string): Promise<{ tenantId: string; redirectUri: string } | undefined>;
}

export function createOAuthStateStore(pool: pg.Pool, options: { ttlMs?: number } = {}): OAuthStateStore {
  const ttlMs = options.ttlMs ?? 10 * 60_000;
  return {
    async issue(tenantId, redirectUri) {
      const state = randomBytes(24).toString('base64url');
      await pool.query(
        `INSERT INTO oauth_states (state_sha256, tenant_id, redirect_uri, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
        [sha256(state), tenantId, redirectUri, ttlMs / 1000],
      );
      // Expired states are useless; drop them while we are here.
      await pool.query('DELETE FROM oauth_states WHERE expires_at < now()');
      return state;
    },
    async consume(state) {
      // A read first: the callback is unauthenticated, and an unknown state (what a flood
      // sends) must cost no write. Only a known state is deleted (single use, RFC 6749 §10.12).
      const known = await pool.query('SELECT 1 FROM oauth_states WHERE state_sha256 = $1', [sha256(state)]);
      if (known.rowCount === 0) return undefined;
      const { rows } = await pool.query<{ tenant_id: string; redirect_uri: string; expired: boolean }>(
        'DELETE FROM oauth_states WHERE state_sha256 = $1 RETURNING tenant_id, redirect_uri, expires_at < now() AS expired',
        [sha256(state)],
      );
      const r = rows[0];
      return r && !r.expired ? { tenantId: r.tenant_id, redirectUri: r.redirect_uri } : undefined;
    },
  };
}

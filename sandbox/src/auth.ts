// Credentials: static API keys and OAuth 2.0 authorization-code grants with expiring
// access tokens and rotating refresh tokens. Every credential resolves to one account.

import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';
import type { IdFactory } from './ids.js';

export const ALL_SCOPES = ['crm.read', 'crm.write', 'webhooks'] as const;
export type Scope = (typeof ALL_SCOPES)[number];

export interface OAuthClient {
  client_id: string;
  client_secret: string;
  account_id: string;
  name: string;
  redirect_uris: string[];
}

export interface Principal {
  accountId: string;
  scopes: Scope[];
  kind: 'api_key' | 'oauth';
}

export interface TokenSet {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  account_id: string;
}

export type AuthFailure = { ok: false; code: 'invalid_token' | 'token_expired'; message: string };
export type AuthResult = { ok: true; principal: Principal } | AuthFailure;

export type GrantResult = { ok: true; tokens: TokenSet } | { ok: false; error: 'invalid_grant' | 'invalid_client' | 'invalid_request'; description: string };

export interface AuthOptions {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  authCodeTtlSeconds: number;
}

export interface Auth {
  /** An API key with every scope, or only `scopes` (a read-only key answers 403 to writes). */
  createApiKey(accountId: string, key?: string, scopes?: Scope[]): string;
  createClient(input: { account_id: string; redirect_uris: string[]; name?: string; client_id?: string; client_secret?: string }): OAuthClient;
  getClient(clientId: string): OAuthClient | undefined;
  listClients(): OAuthClient[];
  issueCode(input: { clientId: string; redirectUri: string; accountId: string; scopes: Scope[] }): string;
  exchangeCode(input: { clientId: string; clientSecret: string; code: string; redirectUri: string }): GrantResult;
  refresh(input: { clientId: string; clientSecret: string; refreshToken: string }): GrantResult;
  authenticate(token: string): AuthResult;
  /** Expires every access token now (lets tests force the refresh path). */
  expireAccessTokens(accountId?: string): void;
  reset(): void;
}

interface CodeGrant { clientId: string; redirectUri: string; accountId: string; scopes: Scope[]; expiresAt: number }
interface AccessToken { accountId: string; scopes: Scope[]; expiresAt: number; clientId: string }
interface RefreshToken { accountId: string; scopes: Scope[]; expiresAt: number; clientId: string; family: string; used: boolean }

const secret = (prefix: string): string => `${prefix}_${randomBytes(24).toString('base64url')}`;

export function parseScopes(raw: string | undefined): Scope[] | null {
  if (!raw || raw.trim() === '') return [...ALL_SCOPES];
  const parts = raw.split(/[\s,]+/).filter(Boolean);
  if (!parts.every((p): p is Scope => (ALL_SCOPES as readonly string[]).includes(p))) return null;
  return [...new Set(parts)] as Scope[];
}

export function createAuth(clock: Clock, ids: () => IdFactory, options: AuthOptions): Auth {
  let apiKeys = new Map<string, { accountId: string; scopes: Scope[] }>();
  let clients = new Map<string, OAuthClient>();
  let codes = new Map<string, CodeGrant>();
  let access = new Map<string, AccessToken>();
  let refreshTokens = new Map<string, RefreshToken>();

  const issueTokens = (clientId: string, accountId: string, scopes: Scope[], family: string): TokenSet => {
    const now = clock.now();
    const accessToken = secret('at');
    const refreshToken = secret('rt');
    access.set(accessToken, { accountId, scopes, clientId, expiresAt: now + options.accessTokenTtlSeconds * 1000 });
    refreshTokens.set(refreshToken, { accountId, scopes, clientId, family, used: false, expiresAt: now + options.refreshTokenTtlSeconds * 1000 });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: options.accessTokenTtlSeconds,
      refresh_token: refreshToken,
      scope: scopes.join(' '),
      account_id: accountId,
    };
  };

  const checkClient = (clientId: string, clientSecret: string): OAuthClient | null => {
    const c = clients.get(clientId);
    return c && c.client_secret === clientSecret ? c : null;
  };

  // Replaying a rotated refresh token is treated as theft (RFC 9700 §4.14): the whole
  // token family is revoked, as most real providers do.
  const revokeFamily = (family: string): void => {
    for (const [k, v] of refreshTokens) if (v.family === family) refreshTokens.delete(k);
  };

  return {
    createApiKey(accountId, key, scopes) {
      const k = key ?? secret('ak');
      apiKeys.set(k, { accountId, scopes: scopes ? [...scopes] : [...ALL_SCOPES] });
      return k;
    },
    createClient(input) {
      const client: OAuthClient = {
        client_id: input.client_id ?? ids().next('cli'),
        client_secret: input.client_secret ?? secret('cs'),
        account_id: input.account_id,
        name: input.name ?? 'OAuth client',
        redirect_uris: [...input.redirect_uris],
      };
      clients.set(client.client_id, client);
      return { ...client };
    },
    getClient: (id) => clients.get(id),
    listClients: () => [...clients.values()].map((c) => ({ ...c })),
    issueCode(input) {
      const code = secret('code');
      codes.set(code, { ...input, expiresAt: clock.now() + options.authCodeTtlSeconds * 1000 });
      return code;
    },
    exchangeCode({ clientId, clientSecret, code, redirectUri }) {
      if (!checkClient(clientId, clientSecret)) return { ok: false, error: 'invalid_client', description: 'unknown client or wrong secret' };
      const grant = codes.get(code);
      codes.delete(code); // single use, even when the exchange fails
      if (!grant || grant.clientId !== clientId) return { ok: false, error: 'invalid_grant', description: 'unknown or used code' };
      if (grant.expiresAt <= clock.now()) return { ok: false, error: 'invalid_grant', description: 'code expired' };
      if (grant.redirectUri !== redirectUri) return { ok: false, error: 'invalid_grant', description: 'redirect_uri does not match the authorization request' };
      return { ok: true, tokens: issueTokens(clientId, grant.accountId, grant.scopes, secret('fam')) };
    },
    refresh({ clientId, clientSecret, refreshToken }) {
      if (!checkClient(clientId, clientSecret)) return { ok: false, error: 'invalid_client', description: 'unknown client or wrong secret' };
      const rt = refreshTokens.get(refreshToken);
      if (!rt || rt.clientId !== clientId) return { ok: false, error: 'invalid_grant', description: 'unknown refresh token' };
      if (rt.used) {
        revokeFamily(rt.family);
        return { ok: false, error: 'invalid_grant', description: 'refresh token already used; token family revoked' };
      }
      if (rt.expiresAt <= clock.now()) return { ok: false, error: 'invalid_grant', description: 'refresh token expired' };
      rt.used = true;
      return { ok: true, tokens: issueTokens(clientId, rt.accountId, rt.scopes, rt.family) };
    },
    authenticate(token) {
      const keyAccount = apiKeys.get(token);
      if (keyAccount) return { ok: true, principal: { accountId: keyAccount.accountId, scopes: [...keyAccount.scopes], kind: 'api_key' } };
      const at = access.get(token);
      if (!at) return { ok: false, code: 'invalid_token', message: 'The access token or API key is not valid.' };
      if (at.expiresAt <= clock.now()) return { ok: false, code: 'token_expired', message: 'The access token has expired; refresh it.' };
      return { ok: true, principal: { accountId: at.accountId, scopes: at.scopes, kind: 'oauth' } };
    },
    expireAccessTokens(accountId) {
      for (const t of access.values()) if (!accountId || t.accountId === accountId) t.expiresAt = clock.now();
    },
    reset() {
      apiKeys = new Map();
      clients = new Map();
      codes = new Map();
      access = new Map();
      refreshTokens = new Map();
    },
  };
}

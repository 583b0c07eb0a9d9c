/**
 * Acme's OAuth 2.0 authorization-code flow (RFC 6749 §4.1) as the contract describes it:
 * /oauth/authorize redirects back with `code` and `state`; /oauth/token exchanges a code
 * or a refresh token (client authentication with HTTP Basic, RFC 6749 §2.3.1). Refresh
 * tokens rotate and are single use: presenting a used one revokes the whole family
 * (RFC 9700 §4.14), so callers must persist every new pair before using it.
 *
 * Our client secret goes only through the outbound client, whose allow-list admits only
 * the operator's Acme origins (docs/SECURITY.md): a tenant-chosen base URL elsewhere is
 * refused before any connection, so the secret cannot be sent there.
 */
import { ERROR_CODES, PermanentError, TransientError, type Stage } from '../errors/index.js';
import type { OAuthTokens } from '../tenants/types.js';
import type { Logger } from '../logger.js';
import { ACME_PUBLIC_TEXT, classify, logAcmeFailure, send } from './http.js';
import type { AcmeOutbound } from './outbound.js';

export interface OAuthClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TokenGrant {
  tokens: OAuthTokens;
  accountId: string | null;
  scope: string | null;
}

export interface TokenRequestOptions extends OAuthClientCredentials {
  baseUrl: string;
  outbound: AcmeOutbound;
  logger?: Logger;
  now?: () => number;
  timeoutMs?: number;
  stage?: Stage;
}

/**
 * What we ask for at connect time: reading, webhook subscriptions, and writing
 * appointments for two-way calendar sync (issue 15; used only when a tenant switches
 * write-back on). The customer may grant less.
 */
export const CONNECT_SCOPE = 'crm.read crm.write webhooks';

/** Tenant-visible text when a grant lacks the write scope (fixed text, no upstream bytes). */
export const WRITE_SCOPE_MISSING_TEXT = 'Acme granted no write access (scope crm.write): two-way calendar sync cannot write changes back. Reconnect Acme and allow write access to use it.';

/** Does this grant lack crm.write? An absent scope means "as requested" (RFC 6749 §5.1). */
export function grantLacksWrite(scope: string | null): boolean {
  return scope !== null && !scope.split(/[\s,]+/).includes('crm.write');
}

export function authorizeUrl(input: { baseUrl: string; clientId: string; redirectUri: string; state: string; scope?: string; accountId?: string }): string {
  const url = new URL('/oauth/authorize', input.baseUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', input.state);
  if (input.scope) url.searchParams.set('scope', input.scope);
  if (input.accountId) url.searchParams.set('account_id', input.accountId);
  return url.toString();
}

async function tokenRequest(options: TokenRequestOptions, form: Record<string, string>, what: string): Promise<TokenGrant> {
  const now = options.now ?? Date.now;
  const stage = options.stage ?? 'poll';
  const basic = Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64');
  const answer = await send(
    options.outbound,
    new URL('/oauth/token', options.baseUrl).toString(),
    { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(form).toString() },
    options.timeoutMs ?? 10_000,
    stage,
    what,
  );
  if (answer.status !== 200) logAcmeFailure(options.logger, answer, what);
  if (answer.status >= 500 || answer.status === 429) throw classify(answer, what, stage, now()).error;
  if (answer.status !== 200) {
    // invalid_grant / invalid_client: a person has to reconnect the tenant.
    throw new PermanentError(`${ACME_PUBLIC_TEXT.credentials} (${what} ${answer.status}, ref ${answer.ref})`, { code: ERROR_CODES.ACME_AUTH_FAILED, stage, context: { operation: what, status: answer.status, ref: answer.ref } });
  }
  const b = answer.body as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; account_id?: unknown; scope?: unknown } | undefined;
  if (typeof b?.access_token !== 'string' || typeof b.refresh_token !== 'string' || typeof b.expires_in !== 'number') {
    throw new TransientError(`${ACME_PUBLIC_TEXT.error} (${what}: no access_token, refresh_token and expires_in, ref ${answer.ref})`, { code: ERROR_CODES.ACME_BAD_RESPONSE, stage, context: { operation: what, ref: answer.ref } });
  }
  return {
    tokens: { accessToken: b.access_token, refreshToken: b.refresh_token, expiresAt: now() + b.expires_in * 1000 },
    accountId: typeof b.account_id === 'string' ? b.account_id : null,
    scope: typeof b.scope === 'string' ? b.scope : null,
  };
}

export function exchangeAuthorizationCode(options: TokenRequestOptions & { code: string; redirectUri: string }): Promise<TokenGrant> {
  return tokenRequest(options, { grant_type: 'authorization_code', code: options.code, redirect_uri: options.redirectUri }, 'oauth_code_exchange');
}

export function refreshAccessToken(options: TokenRequestOptions & { refreshToken: string }): Promise<TokenGrant> {
  return tokenRequest(options, { grant_type: 'refresh_token', refresh_token: options.refreshToken }, 'oauth_refresh');
}

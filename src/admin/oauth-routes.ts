/**
 * The OAuth connect flow (RFC 6749 §4.1): `GET /admin/tenants/:id/oauth/start` redirects
 * to Acme's /oauth/authorize with a single-use `state`; Acme sends the browser back to
 * `GET /oauth/callback`, which checks the state, exchanges the code, stores the tokens
 * encrypted and activates the tenant (webhook subscription, initial backfill).
 */
import type { FastifyInstance } from 'fastify';
import { CONNECT_SCOPE, WRITE_SCOPE_MISSING_TEXT, authorizeUrl, exchangeAuthorizationCode, grantLacksWrite } from '../acme/oauth.js';
import { activateTenant } from './activation.js';
import { visibleTenant } from './context.js';
import { sendError } from './errors.js';
import { activationResponse, emptyQuery, errorResponse, oauthCallbackQuery, tenantIdParams } from './schemas.js';

const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse, 409: errorResponse, 429: errorResponse, 501: errorResponse, 502: errorResponse, 503: errorResponse };

/** Under /admin, behind admin auth. */
export async function oauthStartRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  app.get<{ Params: { id: string } }>(
    '/tenants/:id/oauth/start',
    { schema: { params: tenantIdParams, querystring: emptyQuery, response: { 302: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      if (!services.oauth) return sendError(reply, 501, 'OAUTH_NOT_CONFIGURED', 'Set ACME_OAUTH_CLIENT_ID and ACME_OAUTH_CLIENT_SECRET to connect tenants with OAuth');
      if (tenant.authKind !== 'oauth') return sendError(reply, 409, 'NOT_OAUTH', `Tenant ${tenant.id} connects with an API key`);
      if (!services.outbound.isAllowedBaseUrl(tenant.acmeBaseUrl)) return sendError(reply, 409, 'ACME_ADDRESS_REFUSED', 'The tenant\'s Acme base URL is not an allowed one; set an allowed acmeBaseUrl first');
      const state = await services.oauthStates.issue(tenant.id, services.oauth.redirectUri);
      const url = authorizeUrl({
        baseUrl: tenant.acmeBaseUrl, clientId: services.oauth.clientId, redirectUri: services.oauth.redirectUri, state, scope: CONNECT_SCOPE,
        ...(tenant.acmeAccountId ? { accountId: tenant.acmeAccountId } : {}),
      });
      return reply.redirect(url, 302);
    },
  );
}

interface CallbackQuery {
  state: string;
  code?: string;
  error?: string;
  error_description?: string;
}

/** At the root, no admin token: the browser arrives from Acme; the state is the proof. */
export async function oauthCallbackRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  app.get<{ Querystring: CallbackQuery }>(
    '/oauth/callback',
    { schema: { querystring: oauthCallbackQuery, response: { 200: activationResponse, ...errors } } },
    async (request, reply) => {
      const q = request.query;
      const issued = await services.oauthStates.consume(q.state);
      if (!issued) return sendError(reply, 400, 'OAUTH_STATE_INVALID', 'query.state: unknown, already used or expired; start the connection again', 'query.state');
      if (q.error) return sendError(reply, 400, 'OAUTH_DENIED', `Acme did not authorize: ${q.error}`, 'query.error');
      if (!q.code) return sendError(reply, 400, 'VALIDATION_FAILED', 'query.code: missing', 'query.code');
      if (!services.oauth) return sendError(reply, 501, 'OAUTH_NOT_CONFIGURED', 'OAuth is not configured');
      const tenant = await services.tenants.get(issued.tenantId);
      if (!tenant) return sendError(reply, 400, 'OAUTH_STATE_INVALID', 'query.state: its tenant no longer exists', 'query.state');
      const grant = await exchangeAuthorizationCode({
        baseUrl: tenant.acmeBaseUrl, clientId: services.oauth.clientId, clientSecret: services.oauth.clientSecret,
        code: q.code, redirectUri: issued.redirectUri, outbound: services.outbound, logger: services.logger, timeoutMs: services.acmeTimeoutMs, stage: 'poll',
      });
      await services.tenants.updateSecrets(tenant.id, (s) => ({ ...s, oauth: grant.tokens }));
      if (grant.accountId && grant.accountId !== tenant.acmeAccountId) await services.tenants.update(tenant.id, { acmeAccountId: grant.accountId });
      const activation = await activateTenant(services, tenant.id);
      // Reading works without it; say now, not at the first write-back, that writing will not.
      return grantLacksWrite(grant.scope) ? { ...activation, warnings: [WRITE_SCOPE_MISSING_TEXT] } : activation;
    },
  );
}

/** Tenants: create, read, list, update (allow-listed fields), pause, resume, delete, activate, backfill. */
import type { FastifyInstance } from 'fastify';
import { activeBackfills, latestBackfill } from '../producers/poller/backfill.js';
import type { TenantSettingsInput } from '../tenants/types.js';
import { ValidationError } from '../errors/index.js';
import { activateTenant, verifyApiKey } from './activation.js';
import { principalOf, requireOperator, visibleTenant } from './context.js';
import { sendError } from './errors.js';
import {
  activateBody, activationResponse, backfillBody, backfillResponse, createTenantBody, emptyQuery, errorResponse, tenantIdParams,
  tenantResponse, updateTenantBody,
} from './schemas.js';

interface Credentials {
  apiKey?: string;
  webhookSecrets?: string[];
}
interface CreateBody {
  id: string;
  name: string;
  acmeBaseUrl: string;
  authKind: 'api_key' | 'oauth';
  acmeAccountId?: string;
  settings?: TenantSettingsInput;
  credentials?: Credentials;
}
interface UpdateBody {
  name?: string;
  acmeBaseUrl?: string;
  settings?: Partial<TenantSettingsInput>;
  credentials?: Credentials;
}
type IdParams = { Params: { id: string }; Querystring: Record<string, never> };

const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse, 409: errorResponse, 429: errorResponse, 502: errorResponse, 503: errorResponse };
const byId = { params: tenantIdParams, querystring: emptyQuery };

export async function tenantRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  const { tenants } = services;
  const activationDeps = () => ({ ...services, tenants });
  /** Acme hosts are the operator's decision: a base URL must be one ACME_ALLOWED_BASE_URLS allows, whoever sets it. */
  const assertAllowedBaseUrl = (url: string | undefined): void => {
    if (url === undefined || services.outbound.isAllowedBaseUrl(url)) return;
    const allowed = services.outbound.allowedBaseUrls;
    throw new ValidationError(`body.acmeBaseUrl: not an allowed Acme base URL (allowed: ${allowed.length > 0 ? allowed.join(', ') : 'none configured'})`, { context: { field: 'body.acmeBaseUrl' } });
  };

  app.get('/tenants', { schema: { querystring: emptyQuery, response: { 200: { type: 'object', properties: { data: { type: 'array', items: tenantResponse } } }, ...errors } } }, async (request) => {
    const p = principalOf(request);
    const all = await tenants.list();
    return { data: p.tenantId === null ? all : all.filter((t) => t.id === p.tenantId) };
  });

  app.post<{ Body: CreateBody }>('/tenants', { schema: { body: createTenantBody, querystring: emptyQuery, response: { 201: tenantResponse, ...errors } } }, async (request, reply) => {
    requireOperator(request);
    assertAllowedBaseUrl(request.body.acmeBaseUrl);
    const { credentials, ...rest } = request.body;
    const tenant = await tenants.create({ ...rest, secrets: { ...credentials, webhookSecrets: credentials?.webhookSecrets ?? [] } });
    return reply.code(201).send(tenant);
  });

  app.get<IdParams>('/tenants/:id', { schema: { ...byId, response: { 200: tenantResponse, ...errors } } }, async (request) => visibleTenant(services, request, request.params.id));

  app.patch<IdParams & { Body: UpdateBody }>('/tenants/:id', { schema: { ...byId, body: updateTenantBody, response: { 200: tenantResponse, ...errors } } }, async (request) => {
    const { id } = request.params;
    const tenant = await visibleTenant(services, request, id);
    assertAllowedBaseUrl(request.body.acmeBaseUrl);
    const { credentials, ...patch } = request.body;
    // A new API key, or an API-key tenant moving to another Acme host, is checked with a live
    // call before anything is written: a wrong key must not replace a working one.
    if (tenant.authKind === 'api_key' && (credentials?.apiKey !== undefined || patch.acmeBaseUrl !== undefined)) {
      const apiKey = credentials?.apiKey ?? (await tenants.getWithSecrets(id))?.secrets.apiKey;
      if (apiKey !== undefined) await verifyApiKey(services, { tenantId: id, baseUrl: patch.acmeBaseUrl ?? tenant.acmeBaseUrl, apiKey });
    }
    if (Object.keys(patch).length > 0) await tenants.update(id, patch);
    if (credentials) {
      await tenants.updateSecrets(id, (s) => ({
        ...s,
        ...(credentials.apiKey === undefined ? {} : { apiKey: credentials.apiKey }),
        ...(credentials.webhookSecrets === undefined ? {} : { webhookSecrets: credentials.webhookSecrets }),
      }));
    }
    return visibleTenant(services, request, id);
  });

  app.delete<IdParams>('/tenants/:id', { schema: { ...byId, response: { 204: { type: 'null' }, ...errors } } }, async (request, reply) => {
    const tenant = await visibleTenant(services, request, request.params.id);
    requireOperator(request);
    if (tenant.webhookSubscriptionId) {
      // Best effort: Acme would otherwise keep delivering to a tenant we no longer know.
      await services.clientFor(tenant.id).deleteWebhookSubscription(tenant.webhookSubscriptionId)
        .catch((err: unknown) => services.logger?.warn({ err, tenantId: tenant.id }, 'could not delete the webhook subscription at Acme'));
    }
    await tenants.delete(tenant.id);
    return reply.code(204).send();
  });

  for (const [action, status] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post<IdParams>(`/tenants/:id/${action}`, { schema: { ...byId, response: { 200: tenantResponse, ...errors } } }, async (request) => {
      await visibleTenant(services, request, request.params.id);
      return tenants.setStatus(request.params.id, status);
    });
  }

  app.post<IdParams & { Body: { apiKey?: string; backfillSince?: string } | null }>(
    '/tenants/:id/activate',
    { schema: { ...byId, body: activateBody, response: { 200: activationResponse, ...errors } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      const body = request.body ?? {};
      if (body.apiKey !== undefined) {
        if (tenant.authKind !== 'api_key') return sendError(reply, 400, 'VALIDATION_FAILED', 'body.apiKey: this tenant connects with OAuth', 'body.apiKey');
        // Checked with a live call before it is stored: a wrong key must not replace a working one.
        await verifyApiKey(services, { tenantId: tenant.id, baseUrl: tenant.acmeBaseUrl, apiKey: body.apiKey });
        await tenants.updateSecrets(tenant.id, (s) => ({ ...s, apiKey: body.apiKey }));
      }
      if (tenant.authKind === 'oauth' && !tenant.secretsSet.oauth) {
        return sendError(reply, 409, 'NOT_CONNECTED', 'Connect the tenant to Acme first: GET /admin/tenants/:id/oauth/start');
      }
      return activateTenant(activationDeps(), tenant.id, { backfillSince: body.backfillSince });
    },
  );

  // The onboarding queue (issue 17): running backfills, then the queued ones in the order they will start.
  app.get('/backfills', { schema: { querystring: emptyQuery, response: { 200: { type: 'object', properties: { data: { type: 'array', items: backfillResponse } } }, ...errors } } }, async (request) => {
    const p = principalOf(request);
    const all = await activeBackfills(services.pool);
    return { data: p.tenantId === null ? all : all.filter((b) => b.tenantId === p.tenantId) };
  });

  app.get<IdParams>('/tenants/:id/backfill', { schema: { ...byId, response: { 200: backfillResponse, ...errors } } }, async (request, reply) => {
    await visibleTenant(services, request, request.params.id);
    const progress = await latestBackfill(services.pool, request.params.id);
    return progress ?? sendError(reply, 404, 'NO_BACKFILL', `No backfill has run for tenant ${request.params.id}`);
  });

  app.post<IdParams & { Body: { since?: string } }>('/tenants/:id/backfill', { schema: { ...byId, body: backfillBody, response: { 202: backfillResponse, ...errors } } }, async (request, reply) => {
    const tenant = await visibleTenant(services, request, request.params.id);
    if (!services.backfills) return sendError(reply, 503, 'BACKFILL_UNAVAILABLE', 'This process does not run backfills');
    const { runId } = await services.backfills.start(tenant.id, request.body?.since ?? null);
    const progress = await latestBackfill(services.pool, tenant.id);
    return reply.code(202).send(progress ?? { runId, tenantId: tenant.id, status: 'queued' });
  });
}

/**
 * The admin API (fastify): tenants, admin tokens, activation (API key or OAuth connect)
 * backfill progress, sync status, the tenant's DLQ, and the customers' settings page
 * (/settings). Every route has a JSON schema for its input and output; every
 * /admin route needs an admin bearer token and is rate limited per token
 * (@fastify/rate-limit). Resources are decorated on the app (`adminServices`) and what
 * the app owns is closed in onClose.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type pg from 'pg';
import { createAcmeClient, type AcmeClient } from '../acme/client.js';
import type { AcmeOutbound } from '../acme/outbound.js';
import { registerHealthRoutes, type ReadinessChecks } from '../http/health.js';
import type { Logger } from '../logger.js';
import type { BackfillRunner } from '../producers/poller/backfill.js';
import type { Registry } from '../metrics/index.js';
import type { TenantRepository } from '../tenants/repository.js';
import type { RetryOptions } from '../retry/index.js';
import type { AdminServices } from './context.js';
import { activityRoutes } from './activity-routes.js';
import { touchpointRoutes } from './touchpoint-routes.js';
import { touchpointsPageRoutes } from './touchpoints-page/index.js';
import { dlqRoutes, type AdminDlqDeps } from './dlq-routes.js';
import { installErrorHandler, sendError } from './errors.js';
import { createOAuthStateStore } from './oauth-states.js';
import { oauthCallbackRoutes, oauthStartRoutes } from './oauth-routes.js';
import { callbackToSettingsPage, oauthLinkRoutes, settingsPageRoutes } from './settings-page/index.js';
import { statusRoutes } from './status.js';
import { tenantRoutes } from './tenant-routes.js';
import { sha256, createAdminTokenStore } from './tokens.js';
import { tokenRoutes } from './token-routes.js';

export interface AdminDeps {
  pool: pg.Pool;
  tenants: TenantRepository;
  /** The edge's public URL: webhook subscriptions point at `<publicBaseUrl>/webhooks/acme/<tenant>`. */
  publicBaseUrl: string;
  oauth?: { clientId: string; clientSecret: string; redirectUri: string };
  /** Acme client per tenant; by default a fresh one per call with `acmeFetch`/`acmeRetry`. */
  clientFor?: (tenantId: string) => AcmeClient;
  backfills?: BackfillRunner;
  /** Closed with the app (onClose) when given. */
  ownsBackfills?: boolean;
  bootstrapToken?: string;
  /** Per token, after authentication. */
  rateLimitPerMinute?: number;
  /** Per client address, before authentication (ADMIN_ADDRESS_RATE_LIMIT_PER_MINUTE). */
  addressRateLimitPerMinute?: number;
  oauthStateTtlMs?: number;
  defaultBackfillDays?: number;
  /** The one outbound client for Acme: every call this app makes to Acme goes through it. */
  acmeOutbound: AcmeOutbound;
  /** What an admin request may spend waiting for Acme (ACME_ADMIN_TIMEOUT_MS; 8 s by default). */
  acmeTimeoutMs?: number;
  acmeRetry?: Partial<RetryOptions>;
  metrics?: Registry;
  logger?: Logger;
  /** What /readyz checks besides PostgreSQL (the admin process adds Kafka). */
  readiness?: ReadinessChecks;
  /** Kafka, codec and producer for the DLQ routes; without them they answer 503. */
  dlq?: AdminDlqDeps;
}

function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
}

/** The admin app's fastify instance, before any route: src/processes/admin.ts adds the process's resources to it first. */
export function createAdminFastify(logger?: Logger): FastifyInstance {
  return Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    // Refuse unknown fields (400 naming them) instead of silently dropping them; no type coercion of bodies.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    bodyLimit: 64 * 1024,
    // fastify's request log prints the URL with its query: /oauth/callback carries the
    // authorization code there. We log method, path and status ourselves instead.
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
}

export function createAdminApp(deps: AdminDeps): FastifyInstance {
  const app = createAdminFastify(deps.logger);
  installAdmin(app, deps);
  return app;
}

/** The admin API's hooks and routes on `app`; a new cross-cutting concern is one more register() here. */
export function installAdmin(app: FastifyInstance, deps: AdminDeps): void {
  app.addHook('onResponse', async (request, reply) => {
    deps.logger?.info({ method: request.method, path: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'admin request');
  });

  const acmeTimeoutMs = deps.acmeTimeoutMs ?? 8_000;
  const services: AdminServices = {
    pool: deps.pool,
    tenants: deps.tenants,
    tokens: createAdminTokenStore(deps.pool, { bootstrapToken: deps.bootstrapToken }),
    oauthStates: createOAuthStateStore(deps.pool, { ttlMs: deps.oauthStateTtlMs }),
    clientFor: deps.clientFor ?? ((tenantId) => createAcmeClient({
      tenantId, tenants: deps.tenants, clientId: deps.oauth?.clientId, clientSecret: deps.oauth?.clientSecret, pool: deps.pool,
      outbound: deps.acmeOutbound, requestTimeoutMs: acmeTimeoutMs, retry: { deadlineMs: acmeTimeoutMs, ...deps.acmeRetry },
      metrics: deps.metrics, logger: deps.logger, stages: { get: 'poll', other: 'poll' },
    })),
    backfills: deps.backfills,
    publicBaseUrl: deps.publicBaseUrl,
    oauth: deps.oauth,
    defaultBackfillDays: deps.defaultBackfillDays,
    outbound: deps.acmeOutbound,
    acmeTimeoutMs,
    logger: deps.logger,
  };
  app.decorate('adminServices', services);
  app.decorateRequest('adminPrincipal', null);
  installErrorHandler(app, deps.logger);
  if (deps.ownsBackfills && deps.backfills) {
    const backfills = deps.backfills;
    app.addHook('onClose', async () => backfills.close());
  }

  registerHealthRoutes(app, { postgres: () => deps.pool.query('SELECT 1'), ...deps.readiness });

  const tooMany = (_request: unknown, context: { after: string }) => Object.assign(new Error(`Too many requests; retry in ${context.after}`), { statusCode: 429, code: 'RATE_LIMITED' });
  const perAddress = { max: deps.addressRateLimitPerMinute ?? 600, timeWindow: '1 minute', keyGenerator: (request: { ip: string }) => `ip:${request.ip}`, errorResponseBuilder: tooMany };

  app.register(async (admin) => {
    // global: false — the limiters run as instance hooks in the order added here. The
    // plugin's per-route hooks would run after the authentication hook below, letting every
    // unauthenticated request reach the token store (fastify hooks: instance before route).
    await admin.register(rateLimit, { global: false, errorResponseBuilder: tooMany });
    admin.addHook('onRequest', admin.rateLimit(perAddress));
    admin.addHook('onRequest', async (request, reply) => {
      const token = bearerOf(request.headers.authorization);
      const principal = token === undefined ? undefined : await services.tokens.verify(token);
      if (!principal) return sendError(reply, 401, 'UNAUTHORIZED', 'Send Authorization: Bearer <admin token>');
      request.adminPrincipal = principal;
    });
    // Per token (hashed: the limiter's store must not hold tokens), once the token is known good.
    // createRateLimit: a second rateLimit() hook would be skipped (the plugin runs once per request).
    const perToken = admin.createRateLimit({
      max: deps.rateLimitPerMinute ?? 300, timeWindow: '1 minute',
      keyGenerator: (request) => `t:${sha256(bearerOf(request.headers.authorization) ?? '')}`,
    });
    admin.addHook('onRequest', async (request, reply) => {
      const limit = await perToken(request);
      if (limit.isAllowed || !limit.isExceeded) return;
      reply.header('retry-after', String(limit.ttlInSeconds));
      return sendError(reply, 429, 'RATE_LIMITED', `Too many requests; retry in ${limit.ttlInSeconds} seconds`);
    });
    await admin.register(tenantRoutes);
    await admin.register(tokenRoutes);
    await admin.register(oauthStartRoutes);
    await admin.register(oauthLinkRoutes);
    await admin.register(statusRoutes);
    await admin.register(dlqRoutes(deps.dlq));
    await admin.register(activityRoutes);
    await admin.register(touchpointRoutes);
  }, { prefix: '/admin' });

  app.register(async (root) => {
    await root.register(rateLimit, perAddress);
    root.addHook('onSend', callbackToSettingsPage);
    await root.register(oauthCallbackRoutes);
    await root.register(settingsPageRoutes);
    await root.register(touchpointsPageRoutes);
  });
}

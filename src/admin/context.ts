/**
 * What the admin routes share: the services the app is decorated with, the principal of
 * the current request, and the visibility rule (a token sees its own tenant only; any
 * other tenant is reported as unknown, never as forbidden, so existence does not leak).
 */
import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import type { AcmeClient } from '../acme/client.js';
import type { Logger } from '../logger.js';
import type { BackfillRunner } from '../producers/poller/backfill.js';
import type { TenantRepository } from '../tenants/repository.js';
import type { Tenant } from '../tenants/types.js';
import { unknownTenant } from './errors.js';
import type { OAuthStateStore } from './oauth-states.js';
import type { AdminPrincipal, AdminTokenStore } from './tokens.js';
import type { AcmeOutbound } from '../acme/outbound.js';

export interface AdminServices {
  pool: pg.Pool;
  tenants: TenantRepository;
  tokens: AdminTokenStore;
  oauthStates: OAuthStateStore;
  clientFor: (tenantId: string) => AcmeClient;
  backfills?: BackfillRunner;
  publicBaseUrl: string;
  oauth?: { clientId: string; clientSecret: string; redirectUri: string };
  defaultBackfillDays?: number;
  /** The one outbound client for Acme (allow-list, address checks): outbound.ts. */
  outbound: AcmeOutbound;
  /** What an admin request may spend waiting for Acme in total. */
  acmeTimeoutMs: number;
  logger?: Logger;
}

declare module 'fastify' {
  interface FastifyInstance {
    adminServices: AdminServices;
  }
  interface FastifyRequest {
    adminPrincipal: AdminPrincipal | null;
  }
}

export function principalOf(request: FastifyRequest): AdminPrincipal {
  const p = request.adminPrincipal;
  if (!p) throw Object.assign(new Error('Not authenticated'), { statusCode: 401, code: 'UNAUTHORIZED' });
  return p;
}

/** The tenant, if this request may see it; otherwise exactly the answer for a tenant that does not exist. */
export async function visibleTenant(services: AdminServices, request: FastifyRequest, id: string): Promise<Tenant> {
  const p = principalOf(request);
  if (p.tenantId !== null && p.tenantId !== id) throw unknownTenant(id);
  const tenant = await services.tenants.get(id);
  if (!tenant) throw unknownTenant(id);
  return tenant;
}

export function requireOperator(request: FastifyRequest): void {
  if (principalOf(request).tenantId !== null) throw Object.assign(new Error('This needs an operator token'), { statusCode: 403, code: 'FORBIDDEN' });
}

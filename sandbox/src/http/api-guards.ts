// Hooks in front of the vendor API (/v1 and /oauth): injected outages first (a real
// outage happens before auth), then authentication and the per-account rate limit.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '../auth.js';
import type { SandboxContext } from './context.js';
import { ApiError, sendError } from './errors.js';

const isVendorApi = (url: string): boolean => url.startsWith('/v1') || url.startsWith('/oauth');

function delay(ctx: SandboxContext, ms: number): Promise<void> {
  return new Promise((resolve) => ctx.clock.setTimeout(resolve, ms));
}

export function registerFaultHook(app: FastifyInstance, ctx: SandboxContext): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!isVendorApi(request.url)) return;
    const fault = ctx.faults.forApiRequest();
    if (fault.kind === 'refuse') {
      // Kill the connection without an answer, like a crashed load balancer.
      reply.hijack();
      reply.raw.destroy(new Error('connection destroyed by sandbox refuse fault'));
      return reply;
    }
    if (fault.kind === '5xx') {
      reply.header('retry-after', '1');
      return sendError(reply, fault.status, 'service_unavailable', `Acme is having trouble (sandbox outage fault, HTTP ${fault.status}).`);
    }
    if (fault.kind === 'slow') await delay(ctx, fault.ms);
    return undefined;
  });
  // The lost-answer fault: the write has been applied; its answer never arrives.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.url.startsWith('/v1') || !['POST', 'PATCH', 'DELETE'].includes(request.method) || reply.statusCode >= 400) return payload;
    if (ctx.faults.forWriteAnswer()) reply.raw.destroy(new Error('answer lost by sandbox lost_answer fault'));
    return payload;
  });
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? null;
  }
  const key = request.headers['x-api-key'];
  return typeof key === 'string' && key.length > 0 ? key : null;
}

function unauthorized(reply: FastifyReply, code: string, message: string): FastifyReply {
  reply.header('www-authenticate', `Bearer realm="acme", error="invalid_token", error_description="${message}"`);
  return sendError(reply, 401, code, message);
}

export function registerAuthHook(app: FastifyInstance, ctx: SandboxContext): void {
  app.decorateRequest('principal', null);
  app.addHook('preHandler', async (request, reply) => {
    if (!request.url.startsWith('/v1')) return undefined;
    const token = bearer(request);
    if (!token) return unauthorized(reply, 'unauthorized', 'Missing credentials: send Authorization: Bearer <token> or X-Api-Key.');
    const result = ctx.auth.authenticate(token);
    if (!result.ok) return unauthorized(reply, result.code, result.message);
    request.principal = result.principal;
    const account = ctx.store.getAccount(result.principal.accountId);
    const override = account?.rate_limit;
    const limit = override ? { capacity: override.capacity, refillPerSecond: override.refill_per_second } : ctx.defaultRateLimit;
    if (!limit) return undefined;
    const d = ctx.rateLimiter.take(result.principal.accountId, limit);
    reply.header('x-ratelimit-limit', String(d.limit));
    reply.header('x-ratelimit-remaining', String(d.remaining));
    reply.header('x-ratelimit-reset', String(d.resetSeconds));
    if (d.allowed) return undefined;
    reply.header('retry-after', String(d.retryAfterSeconds));
    return sendError(reply, 429, 'rate_limited', `Rate limit exceeded; retry in ${d.retryAfterSeconds}s.`);
  });
}

export function requireScope(request: FastifyRequest, scope: Scope): string {
  const p = request.principal;
  if (!p) throw new ApiError(401, 'unauthorized', 'Missing credentials.');
  if (!p.scopes.includes(scope)) throw new ApiError(403, 'insufficient_scope', `This operation needs the ${scope} scope.`);
  return p.accountId;
}

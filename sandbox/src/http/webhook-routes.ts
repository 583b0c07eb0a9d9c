// Webhook subscription management for the calling account.

import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireScope } from './api-guards.js';
import type { SandboxContext } from './context.js';
import { notFound } from './errors.js';
import { parse } from './validation.js';
import { isValidEventFilter } from '../webhooks/subscriptions.js';

const createBody = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  event_types: z.array(z.string().refine(isValidEventFilter, 'unknown event type')).default(['*']),
});

const rotateBody = z.strictObject({ grace_period_seconds: z.number().int().min(0).max(7 * 86400).optional() });

export function registerWebhookRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { subscriptions } = ctx;

  app.post('/v1/webhook-subscriptions', async (request, reply) => {
    const accountId = requireScope(request, 'webhooks');
    const body = parse(createBody, request.body, 'subscription');
    const { subscription, secret } = subscriptions.create(accountId, body.url, body.event_types);
    return reply.code(201).send({ ...strip(subscription), secret });
  });

  app.get('/v1/webhook-subscriptions', async (request) => {
    const accountId = requireScope(request, 'webhooks');
    return { data: subscriptions.list(accountId).map(strip), next_cursor: null };
  });

  app.get<{ Params: { id: string } }>('/v1/webhook-subscriptions/:id', async (request) => {
    const accountId = requireScope(request, 'webhooks');
    const sub = subscriptions.get(accountId, request.params.id);
    if (!sub) throw notFound('webhook subscription', request.params.id);
    return strip(sub);
  });

  app.delete<{ Params: { id: string } }>('/v1/webhook-subscriptions/:id', async (request, reply) => {
    const accountId = requireScope(request, 'webhooks');
    if (!subscriptions.remove(accountId, request.params.id)) throw notFound('webhook subscription', request.params.id);
    ctx.dispatcher.cancelSubscription(request.params.id);
    return reply.code(204).send();
  });

  app.post<{ Params: { id: string } }>('/v1/webhook-subscriptions/:id/rotate-secret', async (request) => {
    const accountId = requireScope(request, 'webhooks');
    const body = parse(rotateBody, request.body, 'rotation');
    const rotated = subscriptions.rotate(accountId, request.params.id, body.grace_period_seconds ?? ctx.secretGraceSeconds);
    if (!rotated) throw notFound('webhook subscription', request.params.id);
    return { id: request.params.id, secret: rotated.secret, previous_secret_expires_at: rotated.previousExpiresAt };
  });
}

function strip(sub: { id: string; url: string; event_types: string[]; created_at: string }): { id: string; url: string; event_types: string[]; created_at: string } {
  return { id: sub.id, url: sub.url, event_types: sub.event_types, created_at: sub.created_at };
}

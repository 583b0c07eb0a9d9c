/** Admin tokens: an operator issues a token for one tenant, or revokes any token. */
import type { FastifyInstance } from 'fastify';
import { requireOperator, visibleTenant } from './context.js';
import { sendError } from './errors.js';
import { emptyQuery, errorResponse, tenantIdParams, tokenBody, tokenIdParams, tokenResponse } from './schemas.js';

const errors = { 400: errorResponse, 401: errorResponse, 403: errorResponse, 404: errorResponse, 429: errorResponse };

export async function tokenRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;

  app.post<{ Params: { id: string }; Body: { description?: string } | null }>(
    '/tenants/:id/tokens',
    { schema: { params: tenantIdParams, querystring: emptyQuery, body: tokenBody, response: { 201: tokenResponse, ...errors } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      requireOperator(request);
      return reply.code(201).send(await services.tokens.issue({ tenantId: tenant.id, description: request.body?.description }));
    },
  );

  app.delete<{ Params: { tokenId: string } }>(
    '/tokens/:tokenId',
    { schema: { params: tokenIdParams, querystring: emptyQuery, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      requireOperator(request);
      if (!(await services.tokens.revoke(request.params.tokenId))) return sendError(reply, 404, 'NOT_FOUND', `Unknown token ${request.params.tokenId}`);
      return reply.code(204).send();
    },
  );
}

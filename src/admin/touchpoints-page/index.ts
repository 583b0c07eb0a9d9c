/**
 * `GET /touchpoints`: the touch-point dashboard page (issue 16), served by the admin
 * process under the settings page's CSP; its script is /settings/assets/touchpoints.js,
 * its data /admin/tenants/:id/touchpoints (touchpoint-routes.ts), scoped by the token.
 */
import type { FastifyInstance } from 'fastify';
import { SECURITY_HEADERS } from '../settings-page/index.js';
import { TOUCHPOINTS_HTML } from './html.js';

export const TOUCHPOINTS_PATH = '/touchpoints';

export async function touchpointsPageRoutes(app: FastifyInstance): Promise<void> {
  const page = { schema: { querystring: { type: 'object', additionalProperties: true }, response: { 200: { type: 'string' } } } };
  app.get(TOUCHPOINTS_PATH, page, async (_request, reply) => reply.headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(TOUCHPOINTS_HTML));
}

/**
 * The customers' settings page, served by the admin service: `GET /settings` (HTML) and
 * its two assets under /settings/assets/: the script is browser/settings.ts compiled
 * (client.ts), the style a TS string module that `tsc` carries into dist/.
 *
 * Also here, for the page's OAuth connect: `GET /admin/tenants/:id/oauth/link` answers
 * the existing /oauth/start redirect's target as JSON (a script cannot read a redirect's
 * Location: fetch with redirect 'manual' gets an opaque response, and following it
 * cross-origin to Acme fails CORS), and a browser arriving at /oauth/callback is sent
 * back to the page instead of being shown JSON.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { visibleTenant } from '../context.js';
import { sendError } from '../errors.js';
import { emptyQuery, errorResponse, tenantIdParams } from '../schemas.js';
import { browserScript, settingsScript } from './client.js';
import { ACTIVITY_CSS } from './activity-css.js';
import { SETTINGS_CSS } from './css.js';
import { SETTINGS_HTML } from './html.js';

export const SETTINGS_PATH = '/settings';

/** The page loads only its own script and style and only talks to its own origin. */
export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

const JS = 'text/javascript; charset=utf-8';
const ASSET_TYPES = { 'settings.js': JS, 'activity.js': JS, 'charts.js': JS, 'touchpoints.js': JS, 'settings.css': 'text/css; charset=utf-8' } as const;

function sendStatic(reply: FastifyReply, type: string, body: string): FastifyReply {
  return reply.headers(SECURITY_HEADERS).type(type).send(body);
}

/** At the root, no token: the page itself holds no data; it asks for the token. */
export async function settingsPageRoutes(app: FastifyInstance): Promise<void> {
  const assets: Record<string, { type: string; body: string }> = {
    'settings.js': { type: ASSET_TYPES['settings.js'], body: await settingsScript() },
    'activity.js': { type: JS, body: await browserScript('activity') },
    'charts.js': { type: JS, body: await browserScript('charts') },
    'touchpoints.js': { type: JS, body: await browserScript('touchpoints') },
    'settings.css': { type: ASSET_TYPES['settings.css'], body: SETTINGS_CSS + ACTIVITY_CSS },
  };
  const page = { schema: { querystring: { type: 'object', additionalProperties: true }, response: { 200: { type: 'string' } } } };
  app.get(SETTINGS_PATH, page, async (_request, reply) => sendStatic(reply, 'text/html; charset=utf-8', SETTINGS_HTML));
  app.get<{ Params: { name: string } }>(
    `${SETTINGS_PATH}/assets/:name`,
    { schema: { params: { type: 'object', required: ['name'], properties: { name: { type: 'string', enum: Object.keys(ASSET_TYPES) } } }, querystring: emptyQuery, response: { 200: { type: 'string' } } } },
    async (request, reply) => {
      const asset = assets[request.params.name]!;
      return sendStatic(reply, asset.type, asset.body);
    },
  );
}

/** Under /admin, behind admin auth. */
export async function oauthLinkRoutes(app: FastifyInstance): Promise<void> {
  const services = app.adminServices;
  app.get<{ Params: { id: string } }>(
    '/tenants/:id/oauth/link',
    { schema: { params: tenantIdParams, querystring: emptyQuery, response: { 200: { type: 'object', properties: { url: { type: 'string' } } }, 400: errorResponse, 401: errorResponse, 404: errorResponse, 409: errorResponse, 429: errorResponse, 501: errorResponse } } },
    async (request, reply) => {
      const tenant = await visibleTenant(services, request, request.params.id);
      // The one implementation of the start (state issued and stored, authorize URL) stays
      // /oauth/start's; ask it with the caller's own token.
      const start = await app.inject({
        method: 'GET', url: `/admin/tenants/${encodeURIComponent(tenant.id)}/oauth/start`,
        headers: { authorization: request.headers.authorization ?? '' },
      });
      const location = start.headers.location;
      if (start.statusCode === 302 && typeof location === 'string') return { url: location };
      const body = start.json<{ error?: { code?: string; message?: string } }>();
      return sendError(reply, start.statusCode, body.error?.code ?? 'OAUTH_START_FAILED', body.error?.message ?? 'Could not start the OAuth connection');
    },
  );
}

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

/**
 * onSend hook for the /oauth/callback route: a browser (Accept: text/html) that Acme sent
 * back is redirected to the settings page with the outcome; API clients keep the JSON.
 */
export async function callbackToSettingsPage(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (request.routeOptions.url !== '/oauth/callback' || !wantsHtml(request)) return payload;
  let target = `${SETTINGS_PATH}?connected=1`;
  if (reply.statusCode !== 200) {
    const code = (() => {
      try {
        return (JSON.parse(String(payload)) as { error?: { code?: string } }).error?.code;
      } catch {
        return undefined;
      }
    })();
    target = `${SETTINGS_PATH}?oauth_error=${encodeURIComponent(code ?? String(reply.statusCode))}`;
  }
  reply.code(303).header('location', target).type('text/plain; charset=utf-8');
  return `See ${target}`;
}

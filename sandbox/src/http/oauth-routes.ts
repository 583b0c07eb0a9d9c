// OAuth 2.0 authorization-code flow. The sandbox has no login page: /oauth/authorize
// approves at once (or denies with decision=deny) and redirects back, as if a user of
// the client's account (or of `account_id`, when given) had clicked "Allow".
// /oauth/token answers errors in the RFC 6749 shape ({ error, error_description }),
// which is what OAuth client libraries expect.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseScopes } from '../auth.js';
import type { SandboxContext } from './context.js';
import { sendError } from './errors.js';
import { parse } from './validation.js';

const authorizeQuery = z.object({
  response_type: z.string().optional(),
  client_id: z.string().min(1),
  redirect_uri: z.string().optional(),
  state: z.string().optional(),
  scope: z.string().optional(),
  account_id: z.string().optional(),
  decision: z.enum(['allow', 'deny']).optional(),
});

const tokenBody = z.object({
  grant_type: z.string().optional(),
  code: z.string().optional(),
  redirect_uri: z.string().optional(),
  refresh_token: z.string().optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
});

function redirectWith(reply: FastifyReply, uri: string, params: Record<string, string | undefined>): FastifyReply {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return reply.redirect(url.toString(), 302);
}

function clientCredentials(request: FastifyRequest, body: z.infer<typeof tokenBody>): { id: string; secret: string } | null {
  const basic = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
  }
  return body.client_id && body.client_secret ? { id: body.client_id, secret: body.client_secret } : null;
}

function oauthError(reply: FastifyReply, status: number, error: string, description: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

export function registerOAuthRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  app.get('/oauth/authorize', async (request, reply) => {
    const q = parse(authorizeQuery, request.query, 'authorization request');
    const client = ctx.auth.getClient(q.client_id);
    if (!client) return sendError(reply, 400, 'invalid_client', `Unknown client_id ${q.client_id}.`);
    const redirectUri = q.redirect_uri ?? (client.redirect_uris.length === 1 ? client.redirect_uris[0] : undefined);
    // Never redirect to an unregistered URI: that would make the sandbox an open redirector.
    if (!redirectUri || !client.redirect_uris.includes(redirectUri)) {
      return sendError(reply, 400, 'invalid_redirect_uri', 'redirect_uri is missing or not registered for this client.');
    }
    const state = q.state;
    if ((q.response_type ?? 'code') !== 'code') return redirectWith(reply, redirectUri, { error: 'unsupported_response_type', state });
    const scopes = parseScopes(q.scope);
    if (!scopes) return redirectWith(reply, redirectUri, { error: 'invalid_scope', error_description: 'unknown scope', state });
    if (q.decision === 'deny') return redirectWith(reply, redirectUri, { error: 'access_denied', error_description: 'the user denied access', state });
    const accountId = q.account_id ?? client.account_id;
    if (!ctx.store.getAccount(accountId)) return redirectWith(reply, redirectUri, { error: 'access_denied', error_description: 'unknown account', state });
    const code = ctx.auth.issueCode({ clientId: client.client_id, redirectUri, accountId, scopes });
    return redirectWith(reply, redirectUri, { code, state });
  });

  app.post('/oauth/token', async (request, reply) => {
    const body = parse(tokenBody, request.body, 'token request');
    const creds = clientCredentials(request, body);
    if (!creds) return oauthError(reply, 401, 'invalid_client', 'client authentication required (HTTP Basic or client_id/client_secret)');
    let result;
    if (body.grant_type === 'authorization_code') {
      if (!body.code || !body.redirect_uri) return oauthError(reply, 400, 'invalid_request', 'code and redirect_uri are required');
      result = ctx.auth.exchangeCode({ clientId: creds.id, clientSecret: creds.secret, code: body.code, redirectUri: body.redirect_uri });
    } else if (body.grant_type === 'refresh_token') {
      if (!body.refresh_token) return oauthError(reply, 400, 'invalid_request', 'refresh_token is required');
      result = ctx.auth.refresh({ clientId: creds.id, clientSecret: creds.secret, refreshToken: body.refresh_token });
    } else {
      return oauthError(reply, 400, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
    }
    if (!result.ok) return oauthError(reply, result.error === 'invalid_client' ? 401 : 400, result.error, result.description);
    return reply.header('cache-control', 'no-store').send(result.tokens);
  });
}

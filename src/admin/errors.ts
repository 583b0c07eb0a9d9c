/**
 * One error shape for the admin API: `{ error: { code, message, field? } }`.
 * - Schema violations answer 400 naming the field (`body.settings`, `params.id`, ...).
 * - Our errors map by code; a message of ours never contains a secret (see errors/),
 *   anything unexpected answers 500 without its message.
 * - A tenant the caller may not see answers exactly like a tenant that does not exist.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { AcmeSyncError, ERROR_CODES, PermanentError } from '../errors/index.js';
import type { Logger } from '../logger.js';

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string, field?: string): FastifyReply {
  return reply.code(status).send({ error: field === undefined ? { code, message } : { code, message, field } } satisfies ErrorBody);
}

export const unknownTenant = (id: string) =>
  new PermanentError(`Unknown tenant ${id}`, { code: ERROR_CODES.UNKNOWN_TENANT, context: { tenantId: id } });

const STATUS_BY_CODE: Partial<Record<string, number>> = {
  [ERROR_CODES.VALIDATION_FAILED]: 400,
  [ERROR_CODES.UNKNOWN_TENANT]: 404,
  [ERROR_CODES.TENANT_CONFLICT]: 409,
  [ERROR_CODES.ACME_AUTH_FAILED]: 502,
  [ERROR_CODES.ACME_NOT_FOUND]: 502,
  [ERROR_CODES.ACME_BAD_RESPONSE]: 502,
  [ERROR_CODES.ACME_REDIRECT]: 502,
  [ERROR_CODES.ACME_ADDRESS_REFUSED]: 502,
  [ERROR_CODES.CONFIG_INVALID]: 501,
};

interface AjvIssue {
  instancePath: string;
  message?: string;
  params: { missingProperty?: string; additionalProperty?: string };
}

/** `body.settings.flows` from ajv's instancePath and params. */
function fieldOf(context: string | undefined, issue: AjvIssue): string {
  const path = issue.instancePath.split('/').filter(Boolean);
  const extra = issue.params.missingProperty ?? issue.params.additionalProperty;
  return [context ?? 'body', ...path, ...(extra ? [extra] : [])].join('.');
}

export function installErrorHandler(app: FastifyInstance, logger?: Logger): void {
  app.setErrorHandler((err: FastifyError & { validation?: AjvIssue[]; validationContext?: string }, request, reply) => {
    if (err.validation?.length) {
      const issue = err.validation[0]!;
      const field = fieldOf(err.validationContext, issue);
      const what = issue.params.additionalProperty ? 'is not a writable field' : (issue.message ?? 'is invalid');
      return sendError(reply, 400, ERROR_CODES.VALIDATION_FAILED, `${field}: ${what}`, field);
    }
    if (err instanceof AcmeSyncError) {
      const status = STATUS_BY_CODE[err.code] ?? (err.retriable ? 503 : 500);
      if (status >= 500) logger?.warn({ err, url: request.url.split('?')[0] }, 'admin request failed');
      const field = typeof err.context.field === 'string' ? err.context.field : undefined;
      return sendError(reply, status, err.code, err.message, field);
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, err.statusCode, err.code ?? 'BAD_REQUEST', err.message);
    }
    logger?.error({ err, url: request.url.split('?')[0] }, 'admin request failed unexpectedly');
    return sendError(reply, 500, ERROR_CODES.INTERNAL, 'Internal error');
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
}

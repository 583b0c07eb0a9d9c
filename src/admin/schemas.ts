/**
 * JSON schemas of the admin API. Every route declares body, params, querystring and
 * response: bad input is refused with 400 naming the field, and a response can only
 * carry the properties listed here (fast-json-stringify drops the rest), so a secret
 * cannot leak through a response even if it reached the object.
 */
const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;

export const errorResponse = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: str, message: str, field: str } } },
} as const;

export const tenantResponse = {
  type: 'object',
  required: ['id', 'name', 'status', 'acmeBaseUrl', 'authKind', 'settings', 'secretsSet', 'version', 'createdAt', 'updatedAt'],
  properties: {
    id: str,
    name: str,
    status: { type: 'string', enum: ['active', 'paused'] },
    acmeBaseUrl: str,
    acmeAccountId: nullableStr,
    authKind: { type: 'string', enum: ['api_key', 'oauth'] },
    settings: { type: 'object', additionalProperties: true },
    webhookSubscriptionId: nullableStr,
    secretsSet: { type: 'object', properties: { apiKey: { type: 'boolean' }, oauth: { type: 'boolean' }, webhookSecrets: { type: 'integer' } } },
    version: { type: 'integer' },
    createdAt: str,
    updatedAt: str,
  },
} as const;

export const tenantIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{1,62}$' } },
} as const;

export const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

/** Write-only secrets: accepted here, never returned. */
const credentials = {
  type: 'object',
  additionalProperties: false,
  properties: {
    apiKey: { type: 'string', minLength: 4, maxLength: 500 },
    webhookSecrets: { type: 'array', maxItems: 5, items: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$' } },
  },
} as const;

export const createTenantBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'acmeBaseUrl', 'authKind'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{1,62}$' },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    acmeBaseUrl: { type: 'string', pattern: '^https?://', maxLength: 500 },
    authKind: { type: 'string', enum: ['api_key', 'oauth'] },
    acmeAccountId: { type: 'string', minLength: 1, maxLength: 100 },
    settings: { type: 'object' },
    credentials,
  },
} as const;

export const updateTenantBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    acmeBaseUrl: { type: 'string', pattern: '^https?://', maxLength: 500 },
    settings: { type: 'object' },
    credentials,
  },
} as const;

const since = { type: 'string', format: 'date-time' } as const;
const sinceDate = { anyOf: [since, { type: 'string', format: 'date' }] } as const;

export const activateBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { apiKey: { type: 'string', minLength: 4, maxLength: 500 }, backfillSince: sinceDate },
} as const;

export const backfillBody = {
  type: 'object',
  additionalProperties: false,
  properties: { since: sinceDate },
} as const;

export const backfillResponse = {
  type: 'object',
  properties: {
    runId: str, tenantId: str, since: nullableStr, status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed'] },
    pages: { type: 'integer' }, records: { type: 'integer' }, byType: { type: 'object', additionalProperties: { type: 'integer' } },
    error: nullableStr, startedAt: str, runningAt: nullableStr, finishedAt: nullableStr, queuePosition: { type: ['integer', 'null'] },
  },
} as const;

export const activationResponse = {
  type: 'object',
  properties: {
    tenant: tenantResponse,
    webhookSubscriptionId: str,
    backfillRunId: nullableStr,
    /** E.g. the grant lacks the write scope two-way sync needs. */
    warnings: { type: 'array', items: str },
  },
} as const;

export const tokenBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { description: { type: 'string', maxLength: 200 } },
} as const;

export const tokenResponse = {
  type: 'object',
  properties: { tokenId: str, tenantId: nullableStr, token: str },
} as const;

export const tokenIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['tokenId'],
  properties: { tokenId: { type: 'string', pattern: '^adt_[0-9a-f]{12}$' } },
} as const;

export const oauthStartQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const;

export const oauthCallbackQuery = {
  type: 'object',
  additionalProperties: false,
  required: ['state'],
  properties: { state: { type: 'string', minLength: 1, maxLength: 200 }, code: { type: 'string', maxLength: 500 }, error: { type: 'string', maxLength: 100 }, error_description: { type: 'string', maxLength: 500 }, scope: { type: 'string' } },
} as const;

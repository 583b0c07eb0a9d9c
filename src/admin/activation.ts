/**
 * Activating a tenant: once Acme accepts its credentials (an API key, or OAuth tokens
 * from the connect flow) in a live call, subscribe our edge's webhook URL at Acme, keep the signing
 * secret (newest first, so deliveries signed by the previous subscription still verify
 * while they drain), queue the initial backfill and make the tenant active.
 */
import type pg from 'pg';
import { createAcmeClient, type AcmeClient } from '../acme/client.js';
import { classify, logAcmeFailure, send } from '../acme/http.js';
import type { AcmeOutbound } from '../acme/outbound.js';
import { ERROR_CODES, PermanentError } from '../errors/index.js';
import type { Logger } from '../logger.js';
import type { BackfillRunner } from '../producers/poller/backfill.js';
import type { TenantRepository } from '../tenants/repository.js';
import type { Tenant } from '../tenants/types.js';

export interface ActivationDeps {
  tenants: TenantRepository;
  /** Activation's calls to Acme: the outbound client and the admin request's budget for Acme (ACME_ADMIN_TIMEOUT_MS). */
  outbound: AcmeOutbound;
  acmeTimeoutMs: number;
  pool?: pg.Pool;
  oauth?: { clientId: string; clientSecret: string };
  publicBaseUrl: string;
  backfills?: BackfillRunner;
  /** How far back the initial backfill reads when not told. */
  defaultBackfillDays?: number;
  now?: () => number;
  logger?: Logger;
}

export interface Activation {
  tenant: Tenant;
  webhookSubscriptionId: string;
  backfillRunId: string | null;
}

/** Deliveries from the previous subscription may still be in flight: keep its secret a while. */
const KEPT_WEBHOOK_SECRETS = 2;

export function webhookUrl(publicBaseUrl: string, tenantId: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/webhooks/acme/${encodeURIComponent(tenantId)}`;
}

/** A cheap authenticated call, no retries, within the admin budget. */
const VERIFY_PATH = '/v1/users?limit=1';

/**
 * Does Acme accept this API key at this base URL? Asked before the key is stored, so a
 * wrong key neither replaces a working one nor lets activation say "connected".
 */
export async function verifyApiKey(deps: Pick<ActivationDeps, 'outbound' | 'acmeTimeoutMs' | 'logger'>, input: { tenantId: string; baseUrl: string; apiKey: string }): Promise<void> {
  const what = 'verify_credentials';
  const answer = await send(deps.outbound, new URL(VERIFY_PATH, input.baseUrl).toString(), { method: 'GET', headers: { authorization: `Bearer ${input.apiKey}`, accept: 'application/json' } }, deps.acmeTimeoutMs, 'poll', what);
  if (answer.status < 300) return;
  logAcmeFailure(deps.logger, answer, what, { tenantId: input.tenantId });
  throw withField(classify(answer, what, 'poll', Date.now()).error);
}

/**
 * A client for one admin request: the admin budget per call and no retries (an admin
 * request must not hang on a host that never answers, and a retried POST could create a
 * second subscription). The poller's shared clients keep their patient retry policy.
 */
function adminClient(deps: ActivationDeps, tenantId: string): AcmeClient {
  return createAcmeClient({
    tenantId, tenants: deps.tenants, outbound: deps.outbound, pool: deps.pool, logger: deps.logger, ...deps.oauth,
    requestTimeoutMs: deps.acmeTimeoutMs, retry: { retries: 0, deadlineMs: deps.acmeTimeoutMs }, stages: { get: 'poll', other: 'poll' },
  });
}

/** The stored credentials (OAuth tokens refreshed when due), checked with a live call. */
export async function verifyStoredCredentials(deps: ActivationDeps, tenantId: string, client = adminClient(deps, tenantId)): Promise<void> {
  try {
    await client.list('user', { limit: 1 });
  } catch (err) {
    throw withField(err);
  }
}

function withField(err: unknown): unknown {
  const e = err as PermanentError;
  if (e?.code !== ERROR_CODES.ACME_AUTH_FAILED) return err;
  return new PermanentError(e.message, { code: ERROR_CODES.ACME_AUTH_FAILED, context: { ...e.context, field: 'credentials' }, cause: err });
}

export async function activateTenant(deps: ActivationDeps, tenantId: string, options: { backfillSince?: string } = {}): Promise<Activation> {
  const before = await deps.tenants.get(tenantId);
  if (!before) throw new PermanentError(`Unknown tenant ${tenantId}`, { code: ERROR_CODES.UNKNOWN_TENANT, context: { tenantId } });
  const client = adminClient(deps, tenantId);
  await verifyStoredCredentials(deps, tenantId, client);
  const subscription = await client.createWebhookSubscription({ url: webhookUrl(deps.publicBaseUrl, tenantId) });
  await deps.tenants.updateSecrets(tenantId, (s) => ({ ...s, webhookSecrets: [subscription.secret, ...s.webhookSecrets].slice(0, KEPT_WEBHOOK_SECRETS) }));
  await deps.tenants.update(tenantId, { webhookSubscriptionId: subscription.id });
  const previous = before.webhookSubscriptionId;
  if (previous && previous !== subscription.id) {
    await client.deleteWebhookSubscription(previous).catch((err: unknown) => deps.logger?.warn({ err, tenantId }, 'could not delete the previous webhook subscription'));
  }
  const now = deps.now ?? Date.now;
  const since = options.backfillSince ?? new Date(now() - (deps.defaultBackfillDays ?? 30) * 86_400_000).toISOString();
  // Queued BEFORE the tenant turns active: the poller leaves a tenant with a queued
  // backfill alone, so its first poll cannot read the history the backfill reads (issue 17).
  const backfill = deps.backfills ? await deps.backfills.start(tenantId, since) : undefined;
  const tenant = await deps.tenants.setStatus(tenantId, 'active');
  deps.logger?.info({ tenantId, webhookSubscriptionId: subscription.id, backfillRunId: backfill?.runId }, 'tenant activated');
  return { tenant, webhookSubscriptionId: subscription.id, backfillRunId: backfill?.runId ?? null };
}

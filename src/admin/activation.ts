/**
 * Activating a tenant: once Acme accepts its credentials (an API key, or OAuth tokens
 * from the connect flow), subscribe our edge's webhook URL at Acme, keep the signing
 * secret (newest first, so deliveries signed by the previous subscription still verify
 * while they drain), make the tenant active and start the initial backfill.
 */
import type { AcmeClient } from '../acme/client.js';
import { ERROR_CODES, PermanentError } from '../errors/index.js';
import type { Logger } from '../logger.js';
import type { BackfillRunner } from '../producers/poller/backfill.js';
import type { TenantRepository } from '../tenants/repository.js';
import type { Tenant } from '../tenants/types.js';

export interface ActivationDeps {
  tenants: TenantRepository;
  clientFor: (tenantId: string) => AcmeClient;
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

/** A cheap authenticated call: does Acme accept the tenant's credentials? */
export async function verifyCredentials(client: AcmeClient): Promise<void> {
  try {
    await client.list('user', { limit: 1 });
  } catch (err) {
    if ((err as { code?: string }).code === ERROR_CODES.ACME_AUTH_FAILED) {
      throw new PermanentError('credentials: Acme refused them', { code: ERROR_CODES.ACME_AUTH_FAILED, context: { field: 'credentials' }, cause: err });
    }
    throw err;
  }
}

export async function activateTenant(deps: ActivationDeps, tenantId: string, options: { backfillSince?: string } = {}): Promise<Activation> {
  const before = await deps.tenants.get(tenantId);
  if (!before) throw new PermanentError(`Unknown tenant ${tenantId}`, { code: ERROR_CODES.UNKNOWN_TENANT, context: { tenantId } });
  const client = deps.clientFor(tenantId);
  await verifyCredentials(client);
  const subscription = await client.createWebhookSubscription({ url: webhookUrl(deps.publicBaseUrl, tenantId) });
  await deps.tenants.updateSecrets(tenantId, (s) => ({ ...s, webhookSecrets: [subscription.secret, ...s.webhookSecrets].slice(0, KEPT_WEBHOOK_SECRETS) }));
  await deps.tenants.update(tenantId, { webhookSubscriptionId: subscription.id });
  const previous = before.webhookSubscriptionId;
  if (previous && previous !== subscription.id) {
    await client.deleteWebhookSubscription(previous).catch((err: unknown) => deps.logger?.warn({ err, tenantId }, 'could not delete the previous webhook subscription'));
  }
  const tenant = await deps.tenants.setStatus(tenantId, 'active');
  const now = deps.now ?? Date.now;
  const since = options.backfillSince ?? new Date(now() - (deps.defaultBackfillDays ?? 30) * 86_400_000).toISOString();
  const backfill = deps.backfills ? await deps.backfills.start(tenantId, since) : undefined;
  deps.logger?.info({ tenantId, webhookSubscriptionId: subscription.id, backfillRunId: backfill?.runId }, 'tenant activated');
  return { tenant, webhookSubscriptionId: subscription.id, backfillRunId: backfill?.runId ?? null };
}

/**
 * POST /webhooks/acme/:tenant — Acme's signed webhooks in, Avro events on Kafka out.
 *
 * Order of checks, cheapest and least revealing first:
 *  1. tenant known (404) — before the body is read, from the tenant cache;
 *  2. body within WEBHOOK_MAX_BODY_BYTES on the wire and decoded (413, 415);
 *  3. Standard Webhooks signature over the raw decoded bytes with any current secret,
 *     then the timestamp within ±WEBHOOK_TOLERANCE_SECONDS (401, same answer for all);
 *  4. tenant not paused (409) — only told to a caller who proved it is Acme;
 *  5. envelope valid and identifiable, object within the validation contract
 *     (src/contract) — else the delivery can never be processed: it is kept in the DLQ
 *     (raw bytes, headers, tenant, reason; src/dlq/dead-letters.ts) and answered 200
 *     `{ deadLettered: true }`, because Acme's contract retries every non-2xx answer
 *     (schemas/acme-openapi.yaml: "any other answer ... is retried") and no retry can
 *     fix it (docs/OPERATIONS.md, "Webhooks that can never be processed");
 *  6. thin payload → GET the object from Acme (Acme down → 503 + Retry-After);
 *  7. publish through the batching publisher and answer 200 only once Kafka
 *     acknowledged (Kafka down or slow → 503 + Retry-After; Acme retries, nothing lost).
 *
 * Every answer is counted once in acme_sync_webhooks_total{outcome} and timed in
 * acme_sync_webhook_duration_seconds{outcome}.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { AcmeSyncError, ERROR_CODES, PermanentError, TransientError, ValidationError, toAcmeSyncError } from '../../errors/index.js';
import { counter, histogram, type Registry } from '../../metrics/index.js';
import { TENANT_ID, type TenantWithSecrets } from '../../tenants/types.js';
import { toOutboundEvent, type PublishableType } from '../../transforms/acme-to-event.js';
import { kafkaUnavailable, type EventPublisher } from '../publisher.js';
import { readBody } from './body.js';
import { parseEnvelope, parseJson, type WebhookEnvelope } from './envelope.js';
import { WEBHOOK_OUTCOMES, replyWithError, webhookOutcomeOf, type WebhookOutcome } from './http-errors.js';
import { createRecentDeliveries, type RecentDeliveries } from './recent-deliveries.js';
import { verifySignature, type SignatureVerdict } from './signature.js';
import type { TenantCache } from './tenant-cache.js';
import { checkId } from '../../contract/index.js';
import type { DeadLetterWriter } from '../../dlq/dead-letters.js';

const KIND_OF = { appointment: 'appointments', contact: 'contacts', activity: 'activities' } as const;

export const WEBHOOK_ROUTE = '/webhooks/acme/:tenant';

/** GET one Acme object for a tenant (thin payloads); throws AcmeSyncErrors. */
export type ObjectFetcher = (tenantId: string, type: PublishableType, id: string) => Promise<Readonly<Record<string, unknown>>>;

export interface WebhookRouteOptions {
  tenants: TenantCache;
  publisher: EventPublisher;
  fetchObject: ObjectFetcher;
  metrics: Registry;
  maxBodyBytes: number;
  toleranceSeconds: number;
  now?: () => number;
  recent?: RecentDeliveries;
  /** Where deliveries that can never be processed are kept (the DLQ). */
  deadLetters: DeadLetterWriter;
}

interface RequestState {
  tenant?: TenantWithSecrets;
  outcome?: WebhookOutcome;
}

type WebhookRequest = FastifyRequest<{ Params: { tenant: string } }>;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(' ') : value;
}

function unknownTenant(tenantId: string): PermanentError {
  return new PermanentError('Unknown tenant', { code: ERROR_CODES.UNKNOWN_TENANT, stage: 'webhook', context: { tenantId } });
}

function signatureRejected(tenantId: string, verdict: Exclude<SignatureVerdict, { ok: true }>): PermanentError {
  return new PermanentError('Webhook signature rejected', { code: ERROR_CODES.SIGNATURE_INVALID, stage: 'webhook', context: { tenantId, reason: verdict.reason } });
}

function outcomeFromStatus(status: number): WebhookOutcome {
  if (status < 300) return 'accepted';
  if (status === 503) return 'unavailable';
  return status < 500 ? 'malformed' : 'error';
}

export function createWebhookPlugin(options: WebhookRouteOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    const now = options.now ?? Date.now;
    const recent = options.recent ?? createRecentDeliveries();
    const total = counter(options.metrics, { name: 'acme_sync_webhooks_total', help: 'Acme webhook deliveries by outcome', labelNames: ['outcome'] as const });
    const latency = histogram(options.metrics, { name: 'acme_sync_webhook_duration_seconds', help: 'Time to answer an Acme webhook, by outcome', labelNames: ['outcome'] as const });
    for (const outcome of WEBHOOK_OUTCOMES) total.inc({ outcome }, 0);
    const states = new WeakMap<FastifyRequest, RequestState>();
    const stateOf = (request: FastifyRequest): RequestState => {
      let state = states.get(request);
      if (!state) states.set(request, (state = {}));
      return state;
    };

    // The signature covers the exact bytes: keep them, whatever the declared type.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (request: FastifyRequest, payload: IncomingMessage) => readBody(payload, request.headers, { maxBytes: options.maxBodyBytes }));

    app.setErrorHandler((err, request, reply) => {
      stateOf(request).outcome ??= webhookOutcomeOf(err);
      const params = request.params as { tenant?: string } | undefined;
      return replyWithError(reply, err, request.log, { tenantId: params?.tenant, correlationId: header(request, 'webhook-id') });
    });
    app.addHook('onResponse', async (request, reply) => {
      const outcome = states.get(request)?.outcome ?? outcomeFromStatus(reply.statusCode);
      total.inc({ outcome });
      latency.observe({ outcome }, reply.elapsedTime / 1000);
    });

    async function resolveTenant(request: WebhookRequest): Promise<void> {
      const tenantId = request.params.tenant;
      // Not even a valid tenant ID: no database lookup, no cache entry.
      if (!TENANT_ID.test(tenantId)) throw unknownTenant(tenantId);
      const tenant = await options.tenants.get(tenantId);
      if (!tenant) throw unknownTenant(tenantId);
      stateOf(request).tenant = tenant;
    }

    /** Verify with the cached secrets; on a mismatch re-read them once (a secret rotated seconds ago). */
    async function authenticate(request: WebhookRequest, tenant: TenantWithSecrets, body: Buffer): Promise<TenantWithSecrets> {
      const input = {
        headers: { id: header(request, 'webhook-id'), timestamp: header(request, 'webhook-timestamp'), signature: header(request, 'webhook-signature') },
        body,
        nowMs: now(),
        toleranceSeconds: options.toleranceSeconds,
      };
      let verdict = verifySignature({ ...input, secrets: tenant.secrets.webhookSecrets });
      if (!verdict.ok && (verdict.reason === 'mismatch' || verdict.reason === 'no_secret')) {
        const fresh = await options.tenants.refresh(tenant.id);
        if (!fresh) throw unknownTenant(tenant.id);
        verdict = verifySignature({ ...input, secrets: fresh.secrets.webhookSecrets });
        tenant = fresh;
      }
      if (!verdict.ok) throw signatureRejected(tenant.id, verdict);
      return tenant;
    }

    async function objectOf(tenantId: string, envelope: WebhookEnvelope): Promise<Readonly<Record<string, unknown>>> {
      if (envelope.payload === 'full') return envelope.object;
      let object: Readonly<Record<string, unknown>>;
      try {
        object = await options.fetchObject(tenantId, envelope.objectType, envelope.objectId);
      } catch (err) {
        throw toAcmeSyncError(err, 'webhook', { tenantId, acmeId: envelope.objectId });
      }
      // A read that lags the notification would publish an older version and lose the
      // newer one until the next reconciliation: let Acme retry shortly instead.
      if (typeof object.version === 'number' && object.version < envelope.version)
        throw new TransientError(`Acme returned version ${object.version} of ${envelope.objectId}, notified ${envelope.version}`, { code: ERROR_CODES.ACME_UNAVAILABLE, stage: 'webhook', retryAfterMs: 1_000, context: { tenantId, acmeId: envelope.objectId } });
      return object;
    }

    async function publish(tenantId: string, envelope: WebhookEnvelope, object: Readonly<Record<string, unknown>>, correlationId: string): Promise<void> {
      const event = toOutboundEvent(envelope.objectType, object, { tenantId, source: 'WEBHOOK', receivedAt: now(), eventId: randomUUID(), correlationId });
      try {
        await options.publisher.publish([event]);
      } catch (err) {
        throw err instanceof AcmeSyncError ? err : kafkaUnavailable(err);
      }
    }

    async function handle(request: WebhookRequest, reply: FastifyReply): Promise<FastifyReply> {
      const state = stateOf(request);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const tenant = await authenticate(request, state.tenant!, body);
      if (tenant.status === 'paused') throw new PermanentError('Tenant is paused', { code: ERROR_CODES.TENANT_PAUSED, stage: 'webhook', context: { tenantId: tenant.id } });
      const webhookId = header(request, 'webhook-id')!;
      const key = `${tenant.id}:${webhookId}`;
      let seen: { envelope?: WebhookEnvelope; object?: Readonly<Record<string, unknown>> } = {};
      try {
        const envelope = parseEnvelope(parseJson(body));
        seen = { envelope };
        if (envelope.eventId !== webhookId) throw new ValidationError('id: does not match the webhook-id header', { stage: 'validate' });
        if (tenant.acmeAccountId !== null && envelope.accountId !== tenant.acmeAccountId) throw new ValidationError("account_id: not this tenant's Acme account", { stage: 'validate' });
        if (recent.has(key)) {
          state.outcome = 'duplicate';
          return reply.code(200).send({ received: true, duplicate: true });
        }
        const object = await objectOf(tenant.id, envelope);
        seen = { envelope, object };
        await publish(tenant.id, envelope, object, webhookId);
      } catch (err) {
        // Signed by Acme, and no retry can make it processable (the contract, or the Avro schema
        // refusing the event): keep it where operators look.
        if (!isUnprocessable(err)) throw err;
        const outcome = await deadLetter(request, tenant.id, webhookId, body, seen, err);
        recent.add(key);
        // A retry of a delivery already kept is a redelivery: dead_lettered counts new DLQ records only.
        state.outcome = outcome === 'repeat' ? 'duplicate' : 'dead_lettered';
        return reply.code(200).send({ received: true, deadLettered: true, repeat: outcome === 'repeat', reason: err.message.slice(0, 500) });
      }
      recent.add(key);
      state.outcome = 'accepted';
      return reply.code(200).send({ received: true });
    }

    function isUnprocessable(err: unknown): err is AcmeSyncError {
      return err instanceof AcmeSyncError && !err.retriable && err.code === ERROR_CODES.VALIDATION_FAILED;
    }

    /** By the object's identity when it has one (a re-poll of the same version is the same entry), else by the delivery. */
    function deadLetter(request: WebhookRequest, tenantId: string, webhookId: string, body: Buffer, seen: { envelope?: WebhookEnvelope; object?: Readonly<Record<string, unknown>> }, error: AcmeSyncError): Promise<'new' | 'repeat'> {
      const object = seen.object ?? (seen.envelope?.payload === 'full' ? seen.envelope.object : undefined);
      const id = checkId(object?.id, 'id');
      const version = typeof object?.version === 'number' && Number.isSafeInteger(object.version) ? object.version : 0;
      const byObject = seen.envelope !== undefined && id.ok;
      request.log.info({ tenantId, webhookId, err: error.toJSON() }, 'webhook kept in the DLQ: it can never be processed');
      return options.deadLetters.write({
        tenantId,
        entity: byObject ? KIND_OF[seen.envelope!.objectType] : 'webhook',
        recordId: byObject && id.ok ? id.value : webhookId,
        version: byObject ? version : 0,
        ...(byObject && id.ok ? { acmeId: id.value } : {}),
        error: error.atStage('webhook'),
        raw: body,
        httpHeaders: { 'webhook-id': webhookId, 'webhook-timestamp': header(request, 'webhook-timestamp'), 'content-type': header(request, 'content-type'), 'content-encoding': header(request, 'content-encoding') },
      });
    }

    app.post<{ Params: { tenant: string } }>(WEBHOOK_ROUTE, { onRequest: resolveTenant }, handle);
  };
}

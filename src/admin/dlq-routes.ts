/**
 * The dead-letter queue over the admin API, scoped by tenant: list (with filters and a
 * count), show one record (payload decoded, error context), replay a selection (by IDs
 * or filters, with a dry run). Records are read from the DLQ's index in PostgreSQL
 * (dlq_records, src/dlq/records.ts), not by scanning the topic (issue 14). Reading,
 * decoding and replaying are src/dlq's; this only
 * forces the tenant into every selection, so a tenant token never sees or replays
 * another tenant's records (those are reported as not found, like the other routes).
 */
import type { FastifyInstance } from 'fastify';
import type { KafkaClient, KafkaProducer } from '../kafka/types.js';
import { describeDlqRecord, replayDlq, type DlqFilter, type DlqRecord } from '../dlq/index.js';
import { queryDlq } from '../dlq/records.js';
import type { AvroCodec } from '../registry/index.js';
import { visibleTenant } from './context.js';
import { sendError } from './errors.js';
import { errorResponse, tenantIdParams } from './schemas.js';

export interface AdminDlqDeps {
  kafka: KafkaClient;
  codec: AvroCodec;
  /** Connected, idempotent producer (replays are sent with acks=all). */
  producer: KafkaProducer;
  topic: string;
  /** Source topics a replay may write to (the input topics). */
  allowedTopics: readonly string[];
  /** A record already replayed this often stays in the DLQ (default 3, as the CLI). */
  maxReplays?: number;
  /** Records per second when replaying (default 50, as the CLI). */
  ratePerSecond?: number;
}

const str = { type: 'string' } as const;
const DLQ_ID = '^[0-9]{1,9}:[0-9]{1,19}$';
const MAX_LISTED = 500;

const filterProperties = {
  code: { type: 'string', pattern: '^[A-Z][A-Z0-9_]{0,63}$' },
  stage: { type: 'string', pattern: '^[a-z]{1,20}$' },
  since: { type: 'string', format: 'date-time' },
  until: { type: 'string', format: 'date-time' },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { ...filterProperties, limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' } },
} as const;

const replayBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    ids: { type: 'array', minItems: 1, maxItems: MAX_LISTED, uniqueItems: true, items: { type: 'string', pattern: DLQ_ID } },
    dryRun: { type: 'boolean' },
  },
} as const;

const dlqParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'dlqId'],
  properties: { id: tenantIdParams.properties.id, dlqId: { type: 'string', pattern: DLQ_ID } },
} as const;

const errorContext = {
  type: 'object',
  properties: {
    sourceTopic: str, sourcePartition: { type: 'integer' }, sourceOffset: str, stage: str, code: str, message: str,
    tenantId: str, acmeId: str, schemaId: { type: 'integer' }, attempts: { type: 'integer' }, consumer: str, time: str,
  },
} as const;

const recordSummary = {
  type: 'object',
  properties: {
    id: str, partition: { type: 'integer' }, offset: str, timestamp: str, key: { type: ['string', 'null'] },
    replayCount: { type: 'integer' }, error: errorContext,
  },
} as const;

const listResponse = {
  type: 'object',
  properties: { count: { type: 'integer' }, truncated: { type: 'boolean' }, data: { type: 'array', items: recordSummary } },
} as const;

const recordResponse = {
  type: 'object',
  properties: {
    ...recordSummary.properties,
    headers: { type: 'object', additionalProperties: str },
    // Decoded Avro value, or the raw bytes as text when they do not decode.
    payload: {},
    decodeError: { type: ['string', 'null'] },
  },
} as const;

const outcomes = ['replayed', 'would-replay', 'already-replayed', 'replay-limit', 'no-source-topic'] as const;
const replayResponse = {
  type: 'object',
  properties: {
    dryRun: { type: 'boolean' },
    total: { type: 'integer' },
    byOutcome: { type: 'object', properties: Object.fromEntries(outcomes.map((o) => [o, { type: 'integer' }])) },
    results: { type: 'array', items: { type: 'object', properties: { id: str, outcome: { type: 'string', enum: outcomes }, target: str } } },
  },
} as const;

const errors = { 400: errorResponse, 401: errorResponse, 404: errorResponse, 429: errorResponse, 503: errorResponse };

interface FilterInput {
  code?: string;
  stage?: string;
  since?: string;
  until?: string;
}

function filterOf(tenantId: string, input: FilterInput, ids?: readonly string[]): DlqFilter {
  return {
    tenantId,
    ...(input.code === undefined ? {} : { code: input.code }),
    ...(input.stage === undefined ? {} : { stage: input.stage }),
    ...(input.since === undefined ? {} : { since: Date.parse(input.since) }),
    ...(input.until === undefined ? {} : { until: Date.parse(input.until) }),
    ...(ids === undefined ? {} : { ids }),
  };
}

/** Without the bytes (the record route decodes them) and with an ISO timestamp. */
function summaryOf(record: DlqRecord) {
  const { value: _value, headers: _headers, timestamp, ...rest } = record;
  return { ...rest, timestamp: new Date(timestamp).toISOString() };
}

export function dlqRoutes(dlq: AdminDlqDeps | undefined) {
  return async function register(app: FastifyInstance): Promise<void> {
    const services = app.adminServices;
    const unavailable = (reply: Parameters<typeof sendError>[0]) => sendError(reply, 503, 'DLQ_UNAVAILABLE', 'This process has no Kafka connection for the DLQ');

    app.get<{ Params: { id: string }; Querystring: FilterInput & { limit?: string } }>(
      '/tenants/:id/dlq',
      { schema: { params: tenantIdParams, querystring: listQuery, response: { 200: listResponse, ...errors } } },
      async (request, reply) => {
        const tenant = await visibleTenant(services, request, request.params.id);
        if (!dlq) return unavailable(reply);
        const records = await queryDlq(services.pool, dlq.topic, filterOf(tenant.id, request.query));
        const limit = Number(request.query.limit ?? 100);
        // Newest first: what a customer looks for after a failure.
        const newest = records.reverse().slice(0, limit);
        return { count: records.length, truncated: records.length > newest.length, data: newest.map(summaryOf) };
      },
    );

    app.get<{ Params: { id: string; dlqId: string } }>(
      '/tenants/:id/dlq/:dlqId',
      { schema: { params: dlqParams, querystring: { type: 'object', additionalProperties: false, properties: {} }, response: { 200: recordResponse, ...errors } } },
      async (request, reply) => {
        const tenant = await visibleTenant(services, request, request.params.id);
        if (!dlq) return unavailable(reply);
        const [record] = await queryDlq(services.pool, dlq.topic, filterOf(tenant.id, {}, [request.params.dlqId]));
        if (!record) return sendError(reply, 404, 'NOT_FOUND', `No DLQ record ${request.params.dlqId} for tenant ${tenant.id}`);
        const described = await describeDlqRecord(dlq.codec, record);
        return { ...summaryOf(record), headers: record.headers, payload: described.payload, decodeError: described.decodeError ?? null };
      },
    );

    app.post<{ Params: { id: string }; Body: (FilterInput & { ids?: string[]; dryRun?: boolean }) | null }>(
      '/tenants/:id/dlq/replay',
      { schema: { params: tenantIdParams, querystring: { type: 'object', additionalProperties: false, properties: {} }, body: replayBody, response: { 200: replayResponse, ...errors } } },
      async (request, reply) => {
        const tenant = await visibleTenant(services, request, request.params.id);
        if (!dlq) return unavailable(reply);
        const body = request.body ?? {};
        const records = await queryDlq(services.pool, dlq.topic, filterOf(tenant.id, body, body.ids));
        const dryRun = body.dryRun ?? false;
        const report = await replayDlq(records, {
          producer: dlq.producer, pool: services.pool, dlqTopic: dlq.topic, allowedTopics: new Set(dlq.allowedTopics),
          dryRun, maxReplays: dlq.maxReplays ?? 3, ratePerSecond: dlq.ratePerSecond ?? 50,
        });
        services.logger?.info({ tenantId: tenant.id, dryRun, byOutcome: report.byOutcome }, 'DLQ replay through the admin API');
        return { dryRun, ...report };
      },
    );
  };
}

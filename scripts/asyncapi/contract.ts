/**
 * The subscriber contract (schemas/asyncapi.yaml) is GENERATED from the topic catalogue
 * (src/kafka/topics.ts), the Avro files (schemas/avro) and the DLQ header names, plus the
 * one table below that says what only people know (key format, who writes and reads,
 * ordering). Adding a topic = one row in CHANNELS; a test (test/scripts/asyncapi.test.ts)
 * fails when the committed document differs from what this builds, and checks the facts
 * against the code independently (keys, cleanup policy, headers, logical types).
 *
 * AsyncAPI 3.0: https://www.asyncapi.com/docs/reference/specification/v3.0.0
 * Kafka bindings 0.5.0: https://github.com/asyncapi/bindings/tree/master/kafka
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { DLQ_HEADERS } from '../../src/consumers/runtime/dlq.js';
import { SKIP_HEADERS } from '../../src/consumers/runtime/skips.js';
import { HTTP_HEADER_PREFIX } from '../../src/dlq/dead-letters.js';
import { REPLAY_HEADERS } from '../../src/dlq/index.js';
import { SETTINGS } from '../../src/config/index.js';
import { TOPIC_KINDS, TOPIC_SPECS, topicConfig, valueSubject, type TopicKind } from '../../src/kafka/topics.js';

export const AVRO_DIR = new URL('../../schemas/avro/', import.meta.url);
export const ASYNCAPI_FILE = new URL('../../schemas/asyncapi.yaml', import.meta.url);
export const ASYNCAPI_HTML = new URL('../../docs/asyncapi.html', import.meta.url);
export const AVRO_FORMAT = 'application/vnd.apache.avro+json;version=1.9.0';

type Headers = 'input' | 'output' | 'dlq';

export interface ChannelContract {
  title: string;
  /** The key as a template of value fields (`{field}`); null when the key is another topic's key. */
  keyTemplate: string | null;
  keyDoc: string;
  headers: Headers;
  /** Processes (and consumer groups) that write / read the topic. */
  publishedBy: string[];
  consumedBy: { who: string; groupId?: string }[];
  ordering: string;
  /** Example key (filled from the template; checked by the test). */
  keyExample: string;
}

const GROUP = (flow: string) => `${SETTINGS.CONSUMER_GROUP_PREFIX.default}.${flow}`;
const RECORD_ORDER = 'All versions of one Acme record share a key, so they land on one partition in the order the edge published them. Across keys there is no order. Consumers apply a version only when it is newer than the stored one (acme_version), so a late or repeated version changes nothing.';

export const CHANNELS: Readonly<Record<TopicKind, ChannelContract>> = {
  appointments: {
    title: 'Acme appointments (input)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:apt_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey in src/kafka/topics.ts).', headers: 'input',
    publishedBy: ['edge (webhooks)', 'polling (incremental polls; backfill and reconcile use the history lane)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: calendar flow', groupId: GROUP('calendar') }], ordering: RECORD_ORDER,
  },
  contacts: {
    title: 'Acme contacts (input, table)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:con_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey).', headers: 'input',
    publishedBy: ['edge (webhooks)', 'polling (incremental polls; backfill and reconcile use the history lane)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: calendar flow (customer name, email, phone)', groupId: GROUP('calendar') }], ordering: RECORD_ORDER,
  },
  activities: {
    title: 'Acme activities (input)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:act_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey).', headers: 'input',
    publishedBy: ['edge (webhooks)', 'polling (incremental polls; backfill and reconcile use the history lane)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: touch-point flow', groupId: GROUP('touchpoints') }], ordering: RECORD_ORDER,
  },
  calendar: {
    title: 'Calendar events (output, table)', keyTemplate: '{tenant_id}:{acme_appointment_id}', keyExample: 'tenant-a:apt_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_appointment_id` (recordKey): one key per appointment; the latest record per key is the event.', headers: 'output',
    publishedBy: ['consumers: calendar flow, after its PostgreSQL transaction commits'],
    consumedBy: [{ who: 'subscribers (other teams; examples/python-subscriber)' }],
    ordering: 'Per key in the order the calendar row changed; acme_version never goes down for a key. A record is published only when a field a subscriber sees changed (a version that moves only acme_version is not published, so the topic\'s acme_version may trail the row\'s), and a retried batch may publish the same state again: keep the record with the highest acme_version (equal version = same state).',
  },
  touchpoints: {
    title: 'Touch-point counts (output, table)', keyTemplate: '{tenant_id}:{acme_user_id}:{day}:{channel}', keyExample: 'tenant-a:usr_7:2026-11-30:EMAIL',
    keyDoc: 'UTF-8 string `tenant_id:acme_user_id:day:channel` (touchPointKey) where day is the local calendar day as `YYYY-MM-DD` (the value carries the same day as an Avro date) and channel an enum symbol. The latest record per key is the count.', headers: 'output',
    publishedBy: ['consumers: touch-point flow, after its PostgreSQL transaction commits'],
    consumedBy: [{ who: 'subscribers (other teams; examples/python-subscriber)' }],
    ordering: 'Per key in the order the count changed; a retried batch may publish the same count again. The latest record per key (by offset) is the count; updated_at never goes down for a key.',
  },
  calendar_changes: {
    title: 'Calendar edits for write-back to Acme (input, issue 15)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:apt_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey), the same key as the calendar event it edits, so the edits of one appointment stay in order.', headers: 'input',
    publishedBy: ['our calendar (its users\' edits of Acme-linked events)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: write-back flow (`acme-sync consumers --flows writeback`)', groupId: GROUP('writeback') }],
    ordering: 'Per key in the order the calendar made the edits (calendar_version grows per key). A log, not a table (cleanup.policy=delete): every edit counts. Each edit is applied to Acme at most once, by the Idempotency-Key derived from change_id.',
  },
  appointmentsHistory: {
    title: 'Acme appointments, history lane (input, issue 17)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:apt_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey), as on the live topic.', headers: 'input',
    publishedBy: ['polling (backfill, reconcile)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: calendar flow, history group', groupId: `${GROUP('calendar')}.history` }], ordering: `${RECORD_ORDER} Across the live and history topics the version guard, not Kafka, orders a record's versions.`,
  },
  contactsHistory: {
    title: 'Acme contacts, history lane (input, table, issue 17)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:con_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey), as on the live topic.', headers: 'input',
    publishedBy: ['polling (backfill, reconcile)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: calendar flow, history group', groupId: `${GROUP('calendar')}.history` }], ordering: `${RECORD_ORDER} Across the live and history topics the version guard, not Kafka, orders a record's versions.`,
  },
  activitiesHistory: {
    title: 'Acme activities, history lane (input, issue 17)', keyTemplate: '{tenant_id}:{acme_id}', keyExample: 'tenant-a:act_123',
    keyDoc: 'UTF-8 string `tenant_id:acme_id` (recordKey), as on the live topic.', headers: 'input',
    publishedBy: ['polling (backfill, reconcile)', '`acme-sync dlq replay`'],
    consumedBy: [{ who: 'consumers: touch-point flow, history group', groupId: `${GROUP('touchpoints')}.history` }], ordering: `${RECORD_ORDER} Across the live and history topics the version guard, not Kafka, orders a record's versions.`,
  },
  dlq: {
    title: 'Dead-letter queue', keyTemplate: null, keyExample: 'tenant-a:apt_123',
    keyDoc: 'The ORIGINAL record\'s key (`tenant_id:acme_id` for input records); for a dead letter of the edge or poller `tenant_id:acme_id-or-webhook-id`.', headers: 'dlq',
    publishedBy: ['consumers (a record no retry can fix)', 'edge (a signed webhook that breaks the validation contract)', 'polling (an Acme object that breaks it)'],
    consumedBy: [{ who: '`acme-sync dlq list | replay`, the settings page (through the `dlq_entries` index)' }],
    ordering: 'Per source partition in the order the records failed. One DLQ record per record version and reason (idempotent through the `dlq_entries` index).',
  },
};

interface AvroField { name: string; type: unknown; doc?: string }
interface AvroRecord { name: string; namespace?: string; doc?: string; fields: AvroField[] }

export function loadAvro(file: string): AvroRecord {
  return JSON.parse(readFileSync(new URL(file, AVRO_DIR), 'utf8')) as AvroRecord;
}

/** Logical types and what a subscriber gets on the wire (Avro 1.11 spec, "Logical Types"). */
export const LOGICAL_TYPES: Readonly<Record<string, string>> = {
  'timestamp-millis': 'Avro `long`: milliseconds since 1970-01-01T00:00:00Z (UTC instant). Clients that honour logical types (Python `avro`, Java) give a datetime; others give the number.',
  date: 'Avro `int`: days since 1970-01-01 (a calendar day without time zone; for touch-points the day in the user\'s own time zone). 20422 = 2025-11-30.',
};

/** Every field of every Avro file that carries a logical type: `[file, field, logicalType]`. */
export function logicalFields(): [string, string, string][] {
  const rows: [string, string, string][] = [];
  for (const kind of TOPIC_KINDS) {
    const file = TOPIC_SPECS[kind].schemaFile;
    if (file === null) continue;
    for (const field of loadAvro(file).fields) {
      const found = JSON.stringify(field.type).match(/"logicalType":"([^"]+)"/);
      if (found) rows.push([file, field.name, found[1]!]);
    }
  }
  return rows;
}

function describeLogicalTypes(): string {
  const lines = ['| Schema | Field | Logical type | On the wire |', '|---|---|---|---|'];
  for (const [file, field, type] of logicalFields()) lines.push(`| ${file} | ${field} | ${type} | ${LOGICAL_TYPES[type] ?? 'UNDOCUMENTED'} |`);
  return lines.join('\n');
}

const PREFIX_DOC = 'Every topic name is `{prefix}` + the base name, where the prefix is the setting KAFKA_TOPIC_PREFIX (empty in production; tests and isolated environments set one, e.g. `it-1234.`).';

const INFO_DESCRIPTION = `Kafka topics of the Acme CRM integration: what the edge publishes from Acme (appointments, contacts, activities), what the consumers publish for other teams (calendar events, touch-point counts) and the dead-letter queue.

## Reading the topics
- **Names**: ${PREFIX_DOC}
- **Keys**: plain UTF-8 strings (no key schema), built from the value's fields as documented per channel. Producers partition with murmur2 over the key (the Java client's default partitioner), so a key always lands on one partition.
- **Values**: Avro in the Confluent wire format: byte 0 = 0 (magic), bytes 1–4 = the schema ID (big-endian), then the Avro binary. Subjects follow TopicNameStrategy (\`<topic>-value\`) in a Confluent-compatible registry (Apicurio's ccompat API, \`/apis/ccompat/v7\`). Schemas evolve BACKWARD-compatibly: new fields have defaults and enums have defaults, so an old reader keeps working.
- **Tables**: compacted topics (cleanup.policy=compact) are tables: the latest record per key is the state. Tombstones (null values) are kept ${24} hours (delete.retention.ms) for slow readers.
- **Delivery**: at-least-once. A record may arrive more than once (a retried producer batch, a consumer restarting from its last committed offset). Every record is idempotent by key + version: input records carry \`acme_version\` (newer wins, equal is the same state), calendar events carry \`acme_version\`, touch-point counts are absolute counts (not increments), so applying a record twice changes nothing.
- **Ordering**: per key only (one key = one partition). Nothing is ordered across keys or topics.
- **Correlation**: input records carry the header \`correlation-id\` (the webhook-id, or the poll run) when known; calendar events carry it in \`correlation_id\`.

## Logical types
${describeLogicalTypes()}

Enum fields have a default symbol (UNKNOWN / OTHER / ACTIVE): a reader with an older schema maps a symbol it does not know to the default.`;

function headerSchema(headers: Headers): Record<string, unknown> {
  const str = (description: string) => ({ type: 'string', description });
  if (headers === 'output') return { type: 'object', description: 'No headers: everything a subscriber needs is in the key and the value.', properties: {} };
  if (headers === 'input') {
    return {
      type: 'object',
      properties: {
        'correlation-id': str('Webhook-id of the delivery, or the poll run; also in the value as correlation_id.'),
        [REPLAY_HEADERS.count]: str('Set on records replayed from the DLQ: how many times this record was replayed (a decimal number).'),
        [REPLAY_HEADERS.source]: str('Set on records replayed from the DLQ: the DLQ topic it came from.'),
      },
    };
  }
  const dlqDocs: Record<keyof typeof DLQ_HEADERS, string> = {
    topic: 'Source topic of the record (empty for dead letters of the edge or poller).',
    partition: 'Source partition (decimal; -1 when none).',
    offset: 'Source offset (decimal string; empty when none).',
    key: 'The record\'s key.',
    stage: 'Where it failed: decode, validate, enrich, transform, sink, edge, poll, ...',
    code: 'Stable error code (src/errors ERROR_CODES), e.g. VALIDATION_FAILED, UNKNOWN_TENANT, OPERATOR_SKIPPED.',
    className: 'Error class name.',
    message: 'Human-readable reason, cut at 1000 characters. Tenant data: render as text.',
    tenant: 'Tenant ID.',
    acmeId: 'Acme record ID when known.',
    schemaId: 'Registry schema ID of the value (-1 when not Avro).',
    attempts: 'Attempts made before giving up (decimal).',
    consumerGroup: 'Consumer group (or process) that gave up.',
    consumerClientId: 'Client ID of that consumer.',
    time: 'When it failed (ISO 8601, UTC).',
  };
  const properties: Record<string, unknown> = {};
  for (const [name, header] of Object.entries(DLQ_HEADERS) as [keyof typeof DLQ_HEADERS, string][]) properties[header] = str(dlqDocs[name]);
  properties[SKIP_HEADERS.operator] = str('`acme-sync dlq skip`: who skipped the record.');
  properties[SKIP_HEADERS.reason] = str('`acme-sync dlq skip`: why.');
  properties[SKIP_HEADERS.at] = str('`acme-sync dlq skip`: when (ISO 8601).');
  return {
    type: 'object',
    description: `Kafka Connect style error context (KIP-298) under \`acme-sync.error.*\`; the original record's own headers are kept. Dead letters of the edge keep the HTTP headers that matter under \`${HTTP_HEADER_PREFIX}*\`.`,
    required: Object.values(DLQ_HEADERS),
    properties,
    patternProperties: { [`^${HTTP_HEADER_PREFIX.replaceAll('.', '\\.')}`]: str('An HTTP header of the webhook delivery (webhook-id, webhook-timestamp, content-type).') },
  };
}

const pascal = (kind: string) => kind[0]!.toUpperCase() + kind.slice(1);

function channelOf(kind: TopicKind): Record<string, unknown> {
  const spec = TOPIC_SPECS[kind];
  const row = CHANNELS[kind];
  const config = Object.fromEntries(topicConfig(spec).map(({ name, value }) => [name, name === 'cleanup.policy' ? [value] : Number(value)]));
  const retention = spec.compacted
    ? `Compacted (a table: the latest record per key stays forever); tombstones stay ${Number(config['delete.retention.ms']) / 3_600_000} h.`
    : `Deleted after ${Number(config['retention.ms']) / 86_400_000} days.`;
  return {
    address: `{prefix}${spec.baseName}`,
    title: row.title,
    description: [
      `${spec.doc}.`,
      `**Key**: ${row.keyDoc}${row.keyTemplate ? ` Template: \`${row.keyTemplate}\`, e.g. \`${row.keyExample}\`.` : ''}`,
      `**Retention**: ${retention}`,
      `**Partitions**: KAFKA_PARTITIONS (default ${SETTINGS.KAFKA_PARTITIONS.default}) at creation. **Ordering**: ${row.ordering}`,
      `**Written by**: ${row.publishedBy.join('; ')}. **Read by**: ${row.consumedBy.map((c) => c.who + (c.groupId ? ` (group \`${c.groupId}\`)` : '')).join('; ')}.`,
      spec.schemaFile ? `**Value subject**: \`${valueSubject(`{prefix}${spec.baseName}`)}\` (TopicNameStrategy).` : '**Value**: the original record\'s bytes, unchanged (Avro with its own schema ID, or the raw JSON a dead letter of the edge or poller received).',
    ].join('\n\n'),
    parameters: { prefix: { description: PREFIX_DOC, default: '', examples: ['', 'staging.'] } },
    messages: { [kind]: { $ref: `#/components/messages/${kind}` } },
    bindings: {
      kafka: {
        bindingVersion: '0.5.0',
        topic: `{prefix}${spec.baseName}`,
        partitions: Number(SETTINGS.KAFKA_PARTITIONS.default),
        replicas: Number(SETTINGS.KAFKA_REPLICATION_FACTOR.default),
        topicConfiguration: config,
      },
    },
    'x-key-template': row.keyTemplate,
  };
}

function messageOf(kind: TopicKind): Record<string, unknown> {
  const spec = TOPIC_SPECS[kind];
  const row = CHANNELS[kind];
  const keySchema = { type: 'string', description: row.keyDoc, examples: [row.keyExample] };
  const correlation = row.headers === 'input'
    ? { correlationId: { description: 'Webhook-id or poll run.', location: '$message.header#/correlation-id' } }
    : kind === 'calendar' ? { correlationId: { description: 'Carried from the Acme change.', location: '$message.payload#/correlation_id' } } : {};
  return {
    name: spec.schemaFile ? loadAvro(spec.schemaFile).name : 'DeadLetter',
    title: row.title,
    contentType: spec.schemaFile ? 'application/vnd.apache.avro+binary' : 'application/octet-stream',
    headers: headerSchema(row.headers),
    payload: spec.schemaFile
      ? { schemaFormat: AVRO_FORMAT, schema: { $ref: `./avro/${spec.schemaFile}` } }
      : { type: 'string', format: 'binary', description: 'The original record bytes, unchanged.' },
    ...correlation,
    bindings: {
      kafka: spec.schemaFile
        ? { bindingVersion: '0.5.0', key: keySchema, schemaIdLocation: 'payload', schemaIdPayloadEncoding: 'confluent', schemaLookupStrategy: 'TopicNameStrategy' }
        : { bindingVersion: '0.5.0', key: keySchema },
    },
  };
}

function operationsOf(kind: TopicKind): Record<string, unknown> {
  const row = CHANNELS[kind];
  const channel = { $ref: `#/channels/${kind}` };
  const messages = [{ $ref: `#/channels/${kind}/messages/${kind}` }];
  const ops: Record<string, unknown> = {
    [`publish${pascal(kind)}`]: { action: 'send', channel, messages, summary: `Written by ${row.publishedBy.join('; ')}.` },
  };
  const groups = row.consumedBy.filter((c) => c.groupId !== undefined);
  ops[`read${pascal(kind)}`] = {
    action: 'receive', channel, messages, summary: `Read by ${row.consumedBy.map((c) => c.who).join('; ')}.`,
    ...(groups.length > 0 ? { bindings: { kafka: { bindingVersion: '0.5.0', groupId: { type: 'string', enum: groups.map((g) => g.groupId) } } } } : {}),
  };
  return ops;
}

/** The whole document as a plain object. */
export function buildAsyncApi(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  let operations: Record<string, unknown> = {};
  for (const kind of TOPIC_KINDS) {
    channels[kind] = channelOf(kind);
    messages[kind] = messageOf(kind);
    operations = { ...operations, ...operationsOf(kind) };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Acme sync topics',
      version: '1.0.0',
      description: INFO_DESCRIPTION,
    },
    defaultContentType: 'application/vnd.apache.avro+binary',
    servers: {
      local: {
        host: SETTINGS.KAFKA_BROKERS.default,
        protocol: 'kafka',
        description: 'The local stack (`npm run stack -- up`). The schema registry is Apicurio with its Confluent-compatible API.',
        bindings: { kafka: { bindingVersion: '0.5.0', schemaRegistryUrl: 'http://127.0.0.1:8081/apis/ccompat/v7', schemaRegistryVendor: 'apicurio' } },
      },
    },
    channels,
    operations,
    components: { messages },
  };
}

const HEADER = '# GENERATED by `npm run docs:asyncapi` from src/kafka/topics.ts, schemas/avro and scripts/asyncapi/contract.ts.\n# Do not edit by hand: change the table in scripts/asyncapi/contract.ts and regenerate (a test compares).\n';

export function renderAsyncApiYaml(): string {
  return HEADER + stringify(buildAsyncApi(), { lineWidth: 0 });
}

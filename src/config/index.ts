/**
 * Configuration: every setting comes from an environment variable, is declared once
 * in {@link SETTINGS} (key, default, meaning, parser) and validated once at start-up.
 * A bad or missing value stops start-up with a message naming the key and what was
 * expected (platformatic/kafka validates its `options.ts` the same way).
 * `.env.example` lists the same keys; a test keeps the two in step.
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors/index.js';

const hostPort = z.string().regex(/^[^\s:,]+:\d{1,5}$/, 'expected host:port');
const brokers = z
  .string()
  .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
  .pipe(z.array(hostPort).min(1, 'expected at least one host:port'));
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const pgUrl = z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL');
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier');
const topicPrefix = z.string().regex(/^[a-zA-Z0-9._-]{0,100}$/, 'expected letters, digits, ".", "_" or "-"');
/** Comma-separated `scheme://host[:port|:*]` origins (see acme/outbound.ts). */
const originList = z
  .string()
  .transform((s) => s.split(',').map((o) => o.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^https?:\/\/(\[[0-9a-fA-F:.]+\]|[^/?#@\s:[\]]+)(:(\d{1,5}|\*))?\/?$/, 'expected scheme://host[:port|:*] origins without path or userinfo')));
const bool = z.enum(['true', 'false']).transform((s) => s === 'true');
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const compatibility = z.enum(['BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE']);
/** `id:base64` pairs; each key must decode to 32 bytes (AES-256). */
const masterKeys = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
  .pipe(
    z.array(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/=]+$/, 'expected id:base64 pairs separated by commas')
        .refine((p) => Buffer.from(p.slice(p.indexOf(':') + 1), 'base64').length === 32, 'each key must be 32 bytes of base64'),
    ).min(1),
  )
  .transform((pairs) => pairs.map((p) => ({ id: p.slice(0, p.indexOf(':')), key: Buffer.from(p.slice(p.indexOf(':') + 1), 'base64') })));

interface Setting<T extends z.ZodType> {
  /** Default as the env string; `undefined` means required. */
  default: string | undefined;
  description: string;
  schema: T;
}
const setting = <T extends z.ZodType>(schema: T, def: string | undefined, description: string): Setting<T> => ({
  schema,
  default: def,
  description,
});

/** Every setting the integration reads. Keys are environment variable names. */
export const SETTINGS = {
  LOG_LEVEL: setting(logLevel, 'info', 'pino log level'),
  KAFKA_BROKERS: setting(brokers, '127.0.0.1:9092', 'Comma-separated Kafka bootstrap servers'),
  KAFKA_CLIENT_ID: setting(z.string().min(1), 'acme-sync', 'Kafka client.id prefix of every client'),
  KAFKA_CLIENT: setting(z.enum(['kafkajs', 'platformatic']), 'kafkajs', 'Kafka client library behind the port: kafkajs, or platformatic (@platformatic/kafka: measurement-only, a devDependency; issue 14)'),
  KAFKA_TOPIC_PREFIX: setting(topicPrefix, '', 'Prefix of every topic name (isolates environments and tests)'),
  KAFKA_PARTITIONS: setting(positiveInt, '6', 'Partitions of topics created at start-up'),
  KAFKA_REPLICATION_FACTOR: setting(positiveInt, '1', 'Replication factor of topics created at start-up'),
  SCHEMA_REGISTRY_URL: setting(url, 'http://127.0.0.1:8081/apis/ccompat/v7', 'Confluent-compatible schema registry base URL'),
  SCHEMA_COMPATIBILITY: setting(compatibility, 'BACKWARD', 'Compatibility level set on every subject we register'),
  DATABASE_URL: setting(pgUrl, 'postgres://postgres@127.0.0.1:5432/acme_sync', 'PostgreSQL connection URL'),
  DATABASE_SCHEMA: setting(identifier, 'public', 'PostgreSQL schema holding the tables'),
  DATABASE_POOL_MAX: setting(positiveInt, '10', 'Connections per process'),
  HTTP_HOST: setting(z.string().min(1), '127.0.0.1', 'Interface the HTTP services bind to'),
  EDGE_PORT: setting(port, '3000', 'Port of the webhook edge adapter'),
  ADMIN_PORT: setting(port, '3001', 'Port of the admin API and settings page'),
  CONSUMER_PORT: setting(port, '3002', 'Port of the consumer process: /metrics, /healthz, /readyz and the touch-point dashboard query'),
  PUBLIC_BASE_URL: setting(url, 'http://127.0.0.1:3000', 'Public URL of the edge (webhook and OAuth callback URLs)'),
  MASTER_KEYS: setting(masterKeys, undefined, 'Secret-encryption keys as id:base64(32 bytes), comma-separated; the first encrypts'),
  WEBHOOK_MAX_BODY_BYTES: setting(positiveInt, '262144', 'Largest webhook body accepted, after decompression'),
  WEBHOOK_TOLERANCE_SECONDS: setting(positiveInt, '300', 'Accepted clock skew of webhook-timestamp'),
  PRODUCER_LINGER_MS: setting(nonNegativeInt, '5', 'How long the edge gathers concurrent webhooks into one Kafka batch'),
  CONSUMER_GROUP_PREFIX: setting(z.string().min(1), 'acme-sync', 'Prefix of consumer group ids'),
  ACME_OAUTH_CLIENT_ID: setting(z.string(), '', 'Our OAuth client ID at Acme (empty: OAuth tenants cannot connect or refresh)'),
  ACME_OAUTH_CLIENT_SECRET: setting(z.string(), '', 'Our OAuth client secret at Acme'),
  ACME_OAUTH_REDIRECT_URI: setting(url, 'http://127.0.0.1:3001/oauth/callback', 'Redirect URI registered at Acme; the admin API serves /oauth/callback'),
  ADMIN_BOOTSTRAP_TOKEN: setting(z.string().refine((s) => s === '' || s.length >= 24, 'expected empty or at least 24 characters'), '', 'Operator token accepted by the admin API besides stored tokens (empty: none)'),
  ADMIN_RATE_LIMIT_PER_MINUTE: setting(positiveInt, '300', 'Admin API requests per minute per token'),
  ACME_ALLOWED_BASE_URLS: setting(originList, '', 'Acme base URLs tenants may use, as comma-separated origins (scheme://host[:port], port may be *); empty: none (docs/SECURITY.md)'),
  ACME_ALLOW_PRIVATE_NETWORK: setting(bool, 'false', 'Development only: let allow-listed Acme hosts be on loopback/private addresses (the local sandbox)'),
  ACME_CONNECT_TIMEOUT_MS: setting(positiveInt, '3000', 'Longest wait for a TCP/TLS connection to Acme'),
  ACME_MAX_RESPONSE_BYTES: setting(positiveInt, '4194304', 'Largest Acme response body read; larger ones are aborted'),
  ACME_ADMIN_TIMEOUT_MS: setting(positiveInt, '8000', 'Longest an admin request (activation, OAuth callback) waits for Acme in total'),
  ADMIN_ADDRESS_RATE_LIMIT_PER_MINUTE: setting(positiveInt, '600', 'Admin API and OAuth callback requests per minute per client address, counted before authentication'),
  POLL_CONCURRENCY: setting(positiveInt, '4', 'Tenants polled at the same time by one process'),
  // Operational tunables: the defaults are the values the benchmarks and drills were run with.
  SHUTDOWN_GRACE_MS: setting(positiveInt, '10000', 'After SIGTERM/SIGINT a process finishes its work in hand for at most this long, then exits non-zero'),
  CONSUMER_SESSION_TIMEOUT_MS: setting(positiveInt, '30000', 'Kafka consumer session.timeout.ms: a member silent this long is removed from its group'),
  CONSUMER_HEARTBEAT_INTERVAL_MS: setting(positiveInt, '3000', 'Kafka consumer heartbeat.interval.ms (at most a third of the session timeout)'),
  CONSUMER_MAX_WAIT_MS: setting(positiveInt, '500', "Kafka fetch.max.wait.ms: how long a fetch waits for data; a stop waits for the fetch in flight (Kafka's default 500 ms; kafkajs' 5 s held shutdowns)"),
  CONSUMER_PARTITIONS_IN_FLIGHT: setting(positiveInt, '3', 'Partitions one consumer group member processes at the same time (kafkajs partitionsConsumedConcurrently)'),
  CONSUMER_MAX_BYTES_PER_PARTITION: setting(positiveInt, '1048576', 'Kafka max.partition.fetch.bytes: largest fetch per partition, i.e. the size of one batch'),
  CONSUMER_RETRY_INITIAL_MS: setting(positiveInt, '200', 'First backoff before a batch is retried after a transient failure (retries are unlimited)'),
  CONSUMER_RETRY_MAX_MS: setting(positiveInt, '10000', 'Longest backoff between retries of a batch'),
  CONSUMER_STALL_AFTER_MS: setting(positiveInt, '120000', 'After retrying one batch this long, its partition reports itself stalled (metric acme_sync_partition_stalled, /readyz) and keeps retrying'),
  CONSUMER_TENANT_CACHE_TTL_MS: setting(nonNegativeInt, '30000', 'How long the consumers cache a tenant and its Acme users (a settings change shows up within this)'),
  EDGE_TENANT_CACHE_TTL_MS: setting(nonNegativeInt, '2000', "How long the edge caches a tenant's webhook secrets and status"),
  WEBHOOK_ACK_TIMEOUT_MS: setting(positiveInt, '4000', 'A webhook whose Kafka write is not acknowledged by then answers 503 (Acme retries what it does not see answered within 5 s)'),
  WEBHOOK_FETCH_RETRIES: setting(nonNegativeInt, '2', 'Retries of a thin-payload fetch from Acme while a webhook waits'),
  WEBHOOK_FETCH_TIMEOUT_MS: setting(positiveInt, '2000', 'Timeout of one thin-payload request to Acme'),
  WEBHOOK_FETCH_DEADLINE_MS: setting(positiveInt, '2500', 'Time budget of a thin-payload fetch with its retries (under the webhook ack timeout)'),
  ACME_RETRIES: setting(nonNegativeInt, '8', 'Retries of an Acme API request (poller, backfill, enrichment) after 429/5xx/timeouts'),
  ACME_RETRY_DEADLINE_MS: setting(positiveInt, '60000', 'Time budget of one Acme API request with its retries'),
  // Onboarding at scale (issue 17): history (backfill, reconciliation) on its own lane.
  BACKFILL_CONCURRENCY: setting(positiveInt, '2', 'Backfills one admin process runs at once; more wait in a queue (position on the admin API and settings page)'),
  CONSUMER_HISTORY_PARTITIONS_IN_FLIGHT: setting(positiveInt, '1', "Partitions of the history topics (backfill, reconciliation) one flow's history consumer processes at once: history's share of the consumers"),
  ACME_LIVE_RESERVE_FRACTION: setting(z.coerce.number().min(0).max(0.9), '0.5', "Share of an Acme account's rate limit (X-RateLimit-Limit) backfills and reconciliations leave for live calls (thin-payload fetches, polls, enrichment)"),
  CONSUMER_HISTORY_MAX_RECORDS_PER_SECOND: setting(nonNegativeInt, '2000', 'Records per second one consumers process applies from the history lane (backfill, reconciliation), its bounded share of the process; 0 = no cap (onboarding faster, live p99 up to ~10x idle: docs/BENCHMARKS.md #5). History also waits for live batches in flight'),
  CONSUMER_HISTORY_MAX_BYTES_PER_PARTITION: setting(positiveInt, '65536', 'max.partition.fetch.bytes of the history consumers: smaller batches, so a history transaction holds rows and connections briefly'),
} as const;

/**
 * Rules between settings, checked after each one parsed on its own.
 * Heartbeat: Kafka's docs for heartbeat.interval.ms ("should be set no higher than 1/3 of session.timeout.ms").
 * Ack timeout: Acme retries any webhook not answered within 5 s (schemas/acme-openapi.yaml, webhook responses).
 */
const CROSS_CHECKS: ReadonlyArray<{ key: keyof typeof SETTINGS; check: (c: Record<string, any>) => string | undefined }> = [
  { key: 'CONSUMER_HEARTBEAT_INTERVAL_MS', check: (c) => (c.CONSUMER_HEARTBEAT_INTERVAL_MS * 3 > c.CONSUMER_SESSION_TIMEOUT_MS ? `must be at most a third of CONSUMER_SESSION_TIMEOUT_MS (${c.CONSUMER_SESSION_TIMEOUT_MS})` : undefined) },
  { key: 'CONSUMER_RETRY_MAX_MS', check: (c) => (c.CONSUMER_RETRY_MAX_MS < c.CONSUMER_RETRY_INITIAL_MS ? `must not be below CONSUMER_RETRY_INITIAL_MS (${c.CONSUMER_RETRY_INITIAL_MS})` : undefined) },
  { key: 'WEBHOOK_ACK_TIMEOUT_MS', check: (c) => (c.WEBHOOK_ACK_TIMEOUT_MS >= 5_000 ? 'must be under 5000: Acme retries a webhook it has not seen answered within 5 s' : undefined) },
  { key: 'WEBHOOK_FETCH_DEADLINE_MS', check: (c) => (c.WEBHOOK_FETCH_DEADLINE_MS >= c.WEBHOOK_ACK_TIMEOUT_MS ? `must be under WEBHOOK_ACK_TIMEOUT_MS (${c.WEBHOOK_ACK_TIMEOUT_MS})` : undefined) },
];

type Settings = typeof SETTINGS;
export type Config = { readonly [K in keyof Settings]: z.output<Settings[K]['schema']> };
export type Env = Readonly<Record<string, string | undefined>>;

/** Validate the environment once; throws a ConfigError naming every bad key. */
export function loadConfig(env: Env = process.env): Config {
  const issues: ConfigIssue[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [string, Setting<z.ZodType>][]) {
    const raw = env[key] === undefined || env[key] === '' ? s.default : env[key];
    if (raw === undefined) {
      issues.push({ key, message: `is required (${s.description})` });
      continue;
    }
    const parsed = s.schema.safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else issues.push({ key, message: `${parsed.error.issues.map((i) => i.message).join('; ')} (got ${describeValue(key, raw)})` });
  }
  if (issues.length === 0) {
    for (const { key, check } of CROSS_CHECKS) {
      const message = check(out);
      if (message !== undefined) issues.push({ key, message });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.freeze(out) as Config;
}

/** Never echo a secret back in an error message. */
function describeValue(key: string, raw: string): string {
  return /KEY|SECRET|PASSWORD|TOKEN/.test(key) ? `${raw.length} characters` : JSON.stringify(raw);
}

/** The `.env.example` text derived from SETTINGS (kept in the repo; a test compares). */
export function renderEnvExample(): string {
  const lines = ['# Every setting of the Acme CRM integration, with its default.', '# Generated from src/config/index.ts (SETTINGS).', ''];
  for (const [key, s] of Object.entries(SETTINGS)) {
    lines.push(`# ${s.description}${s.default === undefined ? ' (required)' : ''}`);
    lines.push(`${key}=${s.default ?? ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

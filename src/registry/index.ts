/**
 * Schema registry: registers our Avro contracts at start-up under a compatibility
 * level and encodes/decodes records in the Confluent wire format
 * (magic byte 0, 4-byte schema ID, Avro body).
 *
 * Works against Confluent Schema Registry and Apicurio's Confluent-compatible API
 * (`/apis/ccompat/v7`). One difference handled here: the client's register() compares
 * the subject's compatibility with the requested one and throws on a mismatch, and
 * Apicurio reports its own default for subjects without a rule, so we set the
 * global and subject level explicitly before registering.
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../paths.js';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { DecodeError, ERROR_CODES, PermanentError, TransientError, isRetriable } from '../errors/index.js';
import { TOPIC_KINDS, TOPIC_SPECS, valueSubject, type TopicKind, type TopicNames } from '../kafka/topics.js';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';
export type SchemaIds = Readonly<Partial<Record<TopicKind, number>>>;

const SCHEMA_DIR = projectPath('schemas', 'avro') + '/';

export function loadAvroSchema(file: string): string {
  return readFileSync(`${SCHEMA_DIR}${file}`, 'utf8');
}

export function createRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url, clientId: 'acme-sync' });
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/**
 * PUT /config[/subject]: the compatibility rule, global or per subject. Safe when several
 * processes start together: Apicurio creates a subject's rule with a read-then-insert, so
 * two PUTs racing on a new subject get `409 A rule named 'COMPATIBILITY' already exists`
 * for the loser (seen on three processes starting at once, issue 13). That answer means
 * another writer got there first: we read the rule back and are done when it holds our
 * level, or PUT again (the rule now exists, so the PUT updates it).
 */
export async function setCompatibility(url: string, level: Compatibility, subject?: string): Promise<void> {
  const target = subject === undefined ? `${url}/config` : `${url}/config/${encodeURIComponent(subject)}`;
  const context = { subject: subject ?? '(global)' };
  for (let attempt = 1; ; attempt++) {
    const res = await fetchRegistry(target, { method: 'PUT', headers: { 'content-type': CONTENT_TYPE }, body: JSON.stringify({ compatibility: level }) });
    if (res.ok) return;
    const body = await res.text();
    if (!isConcurrentWriteConflict(res.status, body)) throw registryHttpError(res.status, body, context);
    if ((await readCompatibility(target)) === level) return;
    if (attempt >= 5) throw new TransientError(`Schema registry kept answering ${res.status} to setting ${context.subject}'s compatibility: ${body}`, { code: ERROR_CODES.REGISTRY_UNAVAILABLE, context });
  }
}

/** GET /config[/subject]: the level in force, or undefined when the registry has none to show. */
async function readCompatibility(target: string): Promise<string | undefined> {
  const res = await fetchRegistry(target, { method: 'GET', headers: { accept: CONTENT_TYPE } });
  if (!res.ok) return undefined;
  const body = (await res.json().catch(() => ({}))) as { compatibilityLevel?: string; compatibility?: string };
  return body.compatibilityLevel ?? body.compatibility;
}

/**
 * A 409 is either a schema the compatibility rule refuses (Confluent and Apicurio both
 * answer `error_code: 409`, Apicurio with a RuleViolationException) or a write that lost
 * a race with an identical one ("already exists", Apicurio's `error_code: 0`). Only the
 * first is the caller's problem; the second is success once re-read.
 */
export function isConcurrentWriteConflict(status: number, body: string): boolean {
  if (status !== 409) return false;
  // The HTTP answer is JSON; the client library's errors carry only its message text.
  let parsed: { error_code?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    parsed = { message: body };
  }
  const message = typeof parsed.message === 'string' ? parsed.message : '';
  return parsed.error_code !== 409 && !/incompatib|RuleViolation/i.test(message) && /already exists/i.test(message);
}

async function fetchRegistry(target: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(target, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new TransientError(`Schema registry unreachable at ${new URL(target).origin}`, { code: ERROR_CODES.REGISTRY_UNAVAILABLE, cause });
  }
}

function registryHttpError(status: number, body: string, context: Record<string, string>): Error {
  if (isConcurrentWriteConflict(status, body)) return new TransientError(`Schema registry answered ${status} to a concurrent write: ${body}`, { code: ERROR_CODES.REGISTRY_UNAVAILABLE, context });
  if (status === 409) return new PermanentError(`Schema registry refused an incompatible schema: ${body}`, { code: ERROR_CODES.SCHEMA_INCOMPATIBLE, context });
  if (status >= 500) return new TransientError(`Schema registry answered ${status}`, { code: ERROR_CODES.REGISTRY_UNAVAILABLE, context });
  return new PermanentError(`Schema registry answered ${status}: ${body}`, { code: ERROR_CODES.REGISTRY_UNAVAILABLE, context });
}

/** Classify the client's errors into ours: 409 = incompatible, 5xx / network = transient. */
function classifyClientError(err: unknown, subject: string): Error {
  // The client's HTTP layer (mappersmith) reports a refused or reset connection as
  // a ResponseError with status 400, so the network cause is checked first.
  if (isRetriable(err) || (err instanceof Error && NETWORK_FAILURE.test(err.message)))
    return new TransientError(`Schema registry unreachable: ${(err as Error).message}`, { code: ERROR_CODES.REGISTRY_UNAVAILABLE, cause: err, context: { subject } });
  const status = (err as { status?: number }).status;
  if (typeof status === 'number') return registryHttpError(status, (err as Error).message, { subject });
  return err instanceof Error ? err : new Error(String(err));
}
const NETWORK_FAILURE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|socket hang up|fetch failed|timeout/i;

export interface RegisterOptions {
  url: string;
  compatibility: Compatibility;
  topics: TopicNames;
  /** Only these kinds (default: every topic that has a schema). */
  kinds?: readonly TopicKind[];
}

/** Register every value schema; idempotent (the registry returns the existing ID for an identical schema). */
export async function registerSchemas(registry: SchemaRegistry, options: RegisterOptions): Promise<SchemaIds> {
  await setCompatibility(options.url, options.compatibility);
  const ids: Partial<Record<TopicKind, number>> = {};
  for (const kind of options.kinds ?? TOPIC_KINDS) {
    const file = TOPIC_SPECS[kind].schemaFile;
    if (file === null) continue;
    const subject = valueSubject(options.topics[kind]);
    await setCompatibility(options.url, options.compatibility, subject);
    ids[kind] = await registerOne(registry, subject, loadAvroSchema(file), options.compatibility);
  }
  return ids;
}

/**
 * Register one schema. Registering an identical schema returns its existing ID, so a
 * write that lost a race with an identical one ("already exists") is simply repeated;
 * a schema the compatibility rule refuses stays a permanent SCHEMA_INCOMPATIBLE error
 * carrying the registry's words.
 */
async function registerOne(registry: SchemaRegistry, subject: string, schema: string, compatibility: Compatibility): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject, compatibility: compatibility as never });
      return id;
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (attempt < 5 && status === 409 && isConcurrentWriteConflict(409, (err as Error).message)) continue;
      throw classifyClientError(err, subject);
    }
  }
}

/** The schema ID of a Confluent-framed record, or a DecodeError when the frame is wrong. */
export function schemaIdOf(buffer: Buffer | null): number {
  if (buffer === null || buffer.length < 5 || buffer[0] !== 0) {
    throw new DecodeError('Not a Confluent-framed Avro record (missing magic byte 0 and schema ID)', { context: { length: buffer?.length ?? 0 } });
  }
  return buffer.readInt32BE(1);
}

export interface Decoded<T> {
  schemaId: number;
  value: T;
}

export interface AvroCodec {
  encode(kind: TopicKind, value: unknown): Promise<Buffer>;
  decode<T = Record<string, unknown>>(buffer: Buffer | null): Promise<Decoded<T>>;
}

/**
 * Encoding uses the IDs registered at start-up; decoding fetches unknown writer
 * schemas from the registry (cached). A record that cannot be framed or read is a
 * permanent DecodeError; an unreachable registry is transient.
 */
export function createAvroCodec(registry: SchemaRegistry, ids: SchemaIds): AvroCodec {
  return {
    async encode(kind, value) {
      const id = ids[kind];
      if (id === undefined) throw new PermanentError(`No schema registered for topic kind ${kind}`, { code: ERROR_CODES.INTERNAL, stage: 'produce' });
      try {
        return await registry.encode(id, value);
      } catch (err) {
        if ((err as Error).name === 'ConfluentSchemaRegistryValidationError')
          throw new PermanentError(`Record does not match schema ${id}: ${(err as Error).message}`, { code: ERROR_CODES.VALIDATION_FAILED, stage: 'produce', cause: err });
        throw classifyClientError(err, kind);
      }
    },
    async decode<T>(buffer: Buffer | null) {
      const schemaId = schemaIdOf(buffer);
      try {
        return { schemaId, value: (await registry.decode(buffer as Buffer)) as T };
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 404 && !NETWORK_FAILURE.test((err as Error).message)) throw new DecodeError(`Unknown writer schema ${schemaId}`, { context: { schemaId }, cause: err });
        const classified = classifyClientError(err, `schema ${schemaId}`);
        if (isRetriable(classified)) throw classified;
        throw new DecodeError(`Cannot decode Avro body with schema ${schemaId}: ${(err as Error).message}`, { context: { schemaId }, cause: err });
      }
    },
  };
}

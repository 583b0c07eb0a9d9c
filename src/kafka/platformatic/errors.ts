/**
 * @platformatic/kafka's errors as ours (the port's contract, src/kafka/types.ts): a
 * TransientError KAFKA_UNAVAILABLE when waiting can help, a PermanentError otherwise.
 *
 * The library marks each Kafka protocol error `canRetry` (protocol/errors.js), but some it
 * marks false are transient for us: a group rebalancing (REBALANCE_IN_PROGRESS,
 * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID: rejoin and go on), a producer epoch or sequence the
 * broker lost (the library re-initialises the idempotent producer), BROKER_NOT_AVAILABLE,
 * and its own TimeoutError (canRetry false, PLT_KFK_NETWORK code). So we list the PERMANENT
 * ones — retrying gives the same answer: a record too large, a refused authorization, an
 * invalid request or configuration — and everything else from the library is transient.
 * Anything that is not the library's (a TypeError: our bug) is permanent.
 *
 * Codes as in the kafkajs adapter (kafkajs/errors.ts): KAFKA_UNAVAILABLE (transient),
 * KAFKA_REFUSED (permanent, from Kafka or the library), INTERNAL (not the library's: a bug).
 */
import { AcmeSyncError, ERROR_CODES, PermanentError, TransientError, isRetriable, type Stage } from '../../errors/index.js';

const PERMANENT_PROTOCOL_ERRORS = new Set([
  'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_TOPIC_EXCEPTION', 'INVALID_REQUIRED_ACKS', 'INVALID_RECORD', 'INVALID_TIMESTAMP',
  'TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE', 'UNSUPPORTED_VERSION', 'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'UNSUPPORTED_COMPRESSION_TYPE', 'INVALID_CONFIG', 'INVALID_PARTITIONS', 'INVALID_REPLICATION_FACTOR', 'INVALID_REPLICA_ASSIGNMENT',
  'POLICY_VIOLATION', 'INVALID_REQUEST', 'INCONSISTENT_GROUP_PROTOCOL', 'INVALID_GROUP_ID', 'INVALID_SESSION_TIMEOUT', 'GROUP_MAX_SIZE_REACHED',
]);
/** Library error codes that no wait can fix (a misuse of the API, a protocol the broker lacks). */
const PERMANENT_LIBRARY_CODES = new Set(['PLT_KFK_USER', 'PLT_KFK_AUTHENTICATION', 'PLT_KFK_UNSUPPORTED_API', 'PLT_KFK_UNSUPPORTED_COMPRESSION', 'PLT_KFK_UNSUPPORTED_FORMAT', 'PLT_KFK_UNSUPPORTED']);

/** Every leaf of an error chain (MultipleErrors nest: a ResponseError holds one ProtocolError per failed partition). */
function leaves(err: unknown, out: unknown[] = []): unknown[] {
  if (err instanceof AggregateError && err.errors.length > 0) for (const e of err.errors) leaves(e, out);
  else out.push(err);
  return out;
}

/** The library's errors carry a `PLT_KFK_` code (errors.js GenericError, MultipleErrors); tested without loading it. */
export function isLibraryError(err: unknown): err is Error & { code: string; apiId?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('PLT_KFK_');
}

function isPermanentLeaf(err: unknown): boolean {
  if (!isLibraryError(err)) return !isRetriable(err);
  if (err.apiId !== undefined) return PERMANENT_PROTOCOL_ERRORS.has(err.apiId);
  return PERMANENT_LIBRARY_CODES.has(err.code);
}

/** The protocol error names in a chain (for logs and error context). */
export function protocolErrorNames(err: unknown): string[] {
  return [...new Set(leaves(err).map((e) => (e as { apiId?: string }).apiId ?? (e as { code?: string }).code ?? (e as Error)?.name).filter((n): n is string => typeof n === 'string'))];
}

/** Does the chain hold this protocol error (e.g. OFFSET_OUT_OF_RANGE)? */
export function hasProtocolError(err: unknown, apiId: string): boolean {
  return leaves(err).some((e) => (e as { apiId?: string }).apiId === apiId);
}

export function isPermanentKafkaError(err: unknown): boolean {
  if (err instanceof AcmeSyncError) return !err.retriable;
  return leaves(err).some(isPermanentLeaf);
}

/** Our error for anything the library threw; ours pass through unchanged. */
export function toKafkaError(err: unknown, what: string, stage?: Stage): AcmeSyncError {
  if (err instanceof AcmeSyncError) return err;
  const names = protocolErrorNames(err);
  const message = `${what}: ${(err as Error)?.message ?? String(err)}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
  // kafkaType: the first protocol error, as the kafkajs adapter names its error's `type`.
  const options = { cause: err, context: { kafkaType: names[0], kafka: names.join(',') || undefined }, ...(stage ? { stage } : {}) };
  if (!isPermanentKafkaError(err)) return new TransientError(message, { ...options, code: ERROR_CODES.KAFKA_UNAVAILABLE });
  return new PermanentError(message, { ...options, code: isLibraryError(err) || err instanceof AggregateError ? ERROR_CODES.KAFKA_REFUSED : ERROR_CODES.INTERNAL });
}

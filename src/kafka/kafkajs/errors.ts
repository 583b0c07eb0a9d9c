/**
 * kafkajs' failures as ours (src/errors): the port's callers never look at a kafkajs error.
 *
 *  - transient (TransientError KAFKA_UNAVAILABLE): what kafkajs marks `retriable`
 *    (KafkaJSError#retriable: connection errors, request timeouts, protocol errors such as
 *    NOT_LEADER_FOR_PARTITION or LEADER_NOT_AVAILABLE, kafkajs src/protocol/error.js), and
 *    KafkaJSNumberOfRetriesExceeded around one of those: kafkajs' own retries ran out on
 *    an outage (src/retry/index.js), and the caller's retry is the next level; a network
 *    failure that reaches us unwrapped (ECONNREFUSED...); a KafkaJSAggregateError when
 *    every error in it is transient;
 *  - permanent (PermanentError KAFKA_REFUSED): what kafkajs marks non-retriable
 *    (MESSAGE_TOO_LARGE, authorization, KafkaJSNonRetriableError around any of those);
 *  - programmer errors (TypeError, RangeError...) are never retried: PermanentError INTERNAL.
 */
import kafkajs from 'kafkajs';
import { AcmeSyncError, ERROR_CODES, PermanentError, TransientError, isRetriable, type Stage } from '../../errors/index.js';

// kafkajs is CommonJS and spreads its error classes into module.exports, which Node's ESM
// loader cannot see as named exports (only Kafka, Partitioners, logLevel...): take them
// from the default export.
const { KafkaJSError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

const PROGRAMMER_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** Does waiting and trying again have a chance, for an error kafkajs threw? */
export function isTransientKafkaFailure(err: unknown): boolean {
  if (err instanceof KafkaJSNumberOfRetriesExceeded) return err.cause !== undefined && err.cause !== err && isTransientKafkaFailure(err.cause);
  if (err instanceof KafkaJSError) return err.retriable;
  if (err instanceof Error && err.name === 'KafkaJSAggregateError') {
    const errors = (err as Error & { errors?: unknown[] }).errors ?? [];
    return errors.length > 0 && errors.every(isTransientKafkaFailure);
  }
  return isRetriable(err);
}

function contextOf(err: unknown): Record<string, string | undefined> {
  const e = err as { name?: unknown; type?: unknown; broker?: unknown };
  return {
    kafkaError: typeof e?.name === 'string' ? e.name : undefined,
    kafkaType: typeof e?.type === 'string' ? e.type : undefined,
    broker: typeof e?.broker === 'string' ? e.broker : undefined,
  };
}

/** Anything a kafkajs call threw, as a TransientError KAFKA_UNAVAILABLE or a PermanentError; ours pass through. */
export function toKafkaError(err: unknown, stage?: Stage): AcmeSyncError {
  if (err instanceof AcmeSyncError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const options = { cause: err, context: contextOf(err), ...(stage === undefined ? {} : { stage }) };
  if (PROGRAMMER_ERRORS.some((t) => err instanceof t)) return new PermanentError(message, { ...options, code: ERROR_CODES.INTERNAL });
  if (isTransientKafkaFailure(err)) return new TransientError(`Kafka unavailable: ${message}`, { ...options, code: ERROR_CODES.KAFKA_UNAVAILABLE });
  return new PermanentError(`Kafka refused the request: ${message}`, { ...options, code: ERROR_CODES.KAFKA_REFUSED });
}

/** `fn` with its failures as ours. */
export async function kafkaCall<T>(fn: () => Promise<T>, stage?: Stage): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toKafkaError(err, stage);
  }
}

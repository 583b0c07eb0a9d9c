/**
 * What each stage of a batch tolerates. The model is Kafka Connect's error handling
 * (KIP-298): `Stage` names where a record failed (KEY_CONVERTER, VALUE_CONVERTER,
 * TRANSFORMATION, TASK_PUT ...) and `RetryWithToleranceOperator` decides per stage whether
 * a failure is retried (retriable exceptions, with a backoff, up to `errors.retry.timeout`),
 * tolerated (the record is reported to the DLQ, `errors.tolerance=all`) or fatal
 * (`errors.tolerance=none`) — see
 * https://github.com/apache/kafka/blob/trunk/connect/runtime/src/main/java/org/apache/kafka/connect/runtime/errors/RetryWithToleranceOperator.java
 * and .../errors/Stage.java.
 *
 * Ours, per stage (the batch is the unit of retry; a record is the unit of tolerance):
 *   decode   DecodeError → DLQ · registry down (retriable) → retry · else fatal
 *   admit    unknown tenant → DLQ · operator skip → DLQ · below the stored offset → fenced · tenant lookup down → retry
 *   prepare  the flow's per-record verdicts → DLQ · retriable (Acme, PostgreSQL) → retry · else fatal (a bug)
 *   apply    a value PostgreSQL refuses (SQLSTATE 22/23) → bisect, that record → DLQ · retriable → retry · else fatal
 *   emit     (the outbox relay) Kafka failures → retried by the relay; never DLQ, never fatal
 * Unlike Connect's errors.retry.timeout, a retry deadline does not drop the batch (that
 * would lose data): past `stallAfterMs` the partition reports itself stalled (metric,
 * readiness, alert) and keeps retrying.
 */
import { isRecordFault, isRetriable } from '../../../errors/index.js';

export type StageName = 'decode' | 'admit' | 'prepare' | 'apply' | 'emit';
export type Verdict = 'retry' | 'dlq' | 'fatal';

/** Thrown inside a batch to abandon it without side effects (stop, lost partition). */
export class Abandon extends Error {}
/** The stored offset moved between our read and the lock: prepare again on fresh ground. */
export class Refence extends Error {}
/** PostgreSQL refused a value of the batch: run it again in a fresh transaction that bisects it. */
export class Bisect extends Error {
  constructor(cause: unknown) {
    super('bisect', { cause });
  }
}
/** A non-retriable failure that is not a record's fault: stop the runner. */
export class Fatal extends Error {
  constructor(cause: unknown) {
    super(`Flow failed with a non-retriable error: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The verdict on an error a stage threw (records the stage judges itself never throw). */
export function judge(stage: StageName, err: unknown): Verdict {
  if (err instanceof Fatal || err instanceof Abandon) return 'fatal';
  if (err instanceof Refence) return 'retry';
  if (stage === 'emit') return 'retry';
  if (stage === 'apply' && (err instanceof Bisect || isRecordFault(err))) return 'dlq';
  return isRetriable(err) ? 'retry' : 'fatal';
}

/** Runs a stage's work: transient failures and the runner's own signals pass through; anything else is a bug (Fatal). */
export async function guard<T>(stage: StageName, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Abandon || err instanceof Refence || err instanceof Bisect || isRecordFault(err) || judge(stage, err) !== 'fatal') throw err;
    throw new Fatal(err);
  }
}

import { createRequire } from 'node:module';
import fc from 'fast-check';
import {
  KafkaJSConnectionError, KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSRequestTimeoutError,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PermanentError, TransientError, isRetriable } from '../../src/errors/index.js';
import { toKafkaError } from '../../src/kafka/kafkajs/errors.js';

// kafkajs' own table of Kafka protocol errors (type, code, retriable), and the factory its
// protocol decoders use: the real class of errors a broker answer turns into.
const protocol = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  errorCodes: { type: string; code: number; retriable: boolean; message: string }[];
  createErrorFromCode(code: number): KafkaJSProtocolError;
};
const protocolErrors = fc.constantFrom(...protocol.errorCodes.filter((e) => e.code !== 0));
const toKafkaErrorOf = (e: unknown) => toKafkaError(e, 'produce');

/** What kafkajs' retrier throws when its retries run out on `e` (src/retry/index.js). */
const retriesExceeded = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 8, retryTime: 5_000 });
/** What kafkajs' retrier throws on a failure it does not retry. */
const bailed = (e: Error) => new KafkaJSNonRetriableError(e);

describe('the kafkajs adapter classifies what kafkajs throws, so callers never look at a kafkajs error', () => {
  it('turns every protocol error kafkajs marks retriable into a TransientError KAFKA_UNAVAILABLE, the others into a PermanentError KAFKA_REFUSED, naming the Kafka error', () => {
    fc.assert(
      fc.property(protocolErrors, ({ code, type, retriable }) => {
        const err = toKafkaErrorOf(protocol.createErrorFromCode(code));
        expect(err).toBeInstanceOf(retriable ? TransientError : PermanentError);
        expect(err).toMatchObject({ code: retriable ? ERROR_CODES.KAFKA_UNAVAILABLE : ERROR_CODES.KAFKA_REFUSED, retriable, stage: 'produce' });
        expect(err.context.kafkaType).toBe(type);
        expect(isRetriable(err)).toBe(retriable);
      }),
    );
  });

  it('treats kafkajs running out of retries on an outage as an outage (the caller\'s retry is the next level), and on anything else as what that was', () => {
    fc.assert(
      fc.property(protocolErrors, ({ code, retriable }) => {
        const inner = protocol.createErrorFromCode(code);
        expect(toKafkaErrorOf(retriesExceeded(inner)).retriable).toBe(retriable);
        expect(toKafkaErrorOf(retriesExceeded(new KafkaJSConnectionError('Connection error: ECONNREFUSED', { broker: '127.0.0.1:1' } as never))).code).toBe(ERROR_CODES.KAFKA_UNAVAILABLE);
        // A failure kafkajs bails out on is not retried by us either.
        expect(toKafkaErrorOf(bailed(inner)).retriable).toBe(false);
      }),
    );
  });

  it('retries broken connections and timeouts, whatever their message', () => {
    fc.assert(
      fc.property(fc.string(), (message) => {
        for (const err of [new KafkaJSConnectionError(message), new KafkaJSRequestTimeoutError(message), new KafkaJSError(message)]) {
          expect(toKafkaErrorOf(err)).toMatchObject({ code: ERROR_CODES.KAFKA_UNAVAILABLE, retriable: true });
        }
        const refused = Object.assign(new Error(`connect ECONNREFUSED ${message}`), { code: 'ECONNREFUSED' });
        expect(toKafkaErrorOf(refused)).toMatchObject({ code: ERROR_CODES.KAFKA_UNAVAILABLE, retriable: true });
      }),
    );
  });

  it('never retries a programmer error, wherever it was thrown', () => {
    fc.assert(
      fc.property(fc.constantFrom(TypeError, RangeError, ReferenceError, SyntaxError), fc.string(), (Type, message) => {
        const err = toKafkaErrorOf(new Type(message));
        expect(err).toBeInstanceOf(PermanentError);
        expect(err).toMatchObject({ code: ERROR_CODES.INTERNAL, retriable: false });
        // kafkajs' retrier does not retry these either: it bails (src/retry/index.js, UNRECOVERABLE_ERRORS).
        expect(toKafkaErrorOf(bailed(new Type(message))).retriable).toBe(false);
      }),
    );
  });

  it('passes our own errors through untouched (the acknowledgement check\'s TransientError among them)', () => {
    const ours = new TransientError('Kafka acknowledged the send without 1 of its partitions', { code: ERROR_CODES.KAFKA_UNAVAILABLE, stage: 'produce' });
    expect(toKafkaErrorOf(ours)).toBe(ours);
    const bug = new PermanentError('bad', { code: ERROR_CODES.VALIDATION_FAILED });
    expect(toKafkaErrorOf(bug)).toBe(bug);
  });

  it('judges an aggregate (createTopics) transient only when every error in it is', () => {
    const aggregate = (errors: Error[]) => Object.assign(new Error('several'), { name: 'KafkaJSAggregateError', errors });
    expect(toKafkaErrorOf(aggregate([new KafkaJSConnectionError('a'), new KafkaJSRequestTimeoutError('b')])).retriable).toBe(true);
    expect(toKafkaErrorOf(aggregate([new KafkaJSConnectionError('a'), protocol.createErrorFromCode(29)])).retriable).toBe(false);
    expect(toKafkaErrorOf(aggregate([])).retriable).toBe(false);
  });
});

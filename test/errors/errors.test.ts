import { describe, expect, it } from 'vitest';
import { KafkaJSConnectionError, KafkaJSNonRetriableError } from 'kafkajs';
import {
  AcmeSyncError, ConfigError, DecodeError, ERROR_CODES, PermanentError, TransientError, ValidationError, isRetriable, toAcmeSyncError,
} from '../../src/errors/index.js';

describe('isRetriable', () => {
  it('trusts the flag of our own errors', () => {
    expect(isRetriable(new TransientError('down', { code: ERROR_CODES.ACME_UNAVAILABLE }))).toBe(true);
    expect(isRetriable(new PermanentError('bad'))).toBe(false);
    expect(isRetriable(new ValidationError('no start'))).toBe(false);
    expect(isRetriable(new DecodeError('garbage'))).toBe(false);
  });

  it('never retries programmer errors, even with a transient-looking message', () => {
    expect(isRetriable(new TypeError('Cannot read properties of undefined (timeout)'))).toBe(false);
    expect(isRetriable(new RangeError('ECONNRESET'))).toBe(false);
    expect(isRetriable(new ReferenceError('x is not defined'))).toBe(false);
  });

  it('follows kafkajs on whether its errors are retriable', () => {
    expect(isRetriable(new KafkaJSConnectionError('Connection error'))).toBe(true);
    expect(isRetriable(new KafkaJSNonRetriableError('nope'))).toBe(false);
  });

  it('retries network failures and PostgreSQL connection and serialization failures, not constraint violations', () => {
    const sys = (code: string) => Object.assign(new Error(code), { code });
    expect(isRetriable(sys('ECONNREFUSED'))).toBe(true);
    expect(isRetriable(sys('ECONNRESET'))).toBe(true);
    expect(isRetriable(sys('08006'))).toBe(true); // connection_failure
    expect(isRetriable(sys('57P01'))).toBe(true); // admin_shutdown
    expect(isRetriable(sys('40001'))).toBe(true); // serialization_failure
    expect(isRetriable(sys('23505'))).toBe(false); // unique_violation
    expect(isRetriable(sys('42P01'))).toBe(false); // undefined_table
    expect(isRetriable(sys('ENOENT'))).toBe(false);
    expect(isRetriable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isRetriable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not retry what is not an Error', () => {
    expect(isRetriable('ECONNREFUSED')).toBe(false);
    expect(isRetriable(undefined)).toBe(false);
  });
});

describe('AcmeSyncError', () => {
  it('keeps code, stage, retriability and context through JSON logging, with the cause summarized', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4010'), { code: 'ECONNREFUSED' });
    const err = new TransientError('Acme is down', { code: ERROR_CODES.ACME_UNAVAILABLE, stage: 'poll', context: { tenant: 't1', attempt: 3 }, cause, retryAfterMs: 2000 });
    const logged = JSON.parse(JSON.stringify(err));
    expect(logged).toEqual({
      name: 'TransientError', code: 'ACME_UNAVAILABLE', message: 'Acme is down', retriable: true, stage: 'poll',
      context: { tenant: 't1', attempt: 3 }, cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:4010', code: 'ECONNREFUSED' },
    });
    expect(err.retryAfterMs).toBe(2000);
    expect(err).toBeInstanceOf(AcmeSyncError);
  });

  it('freezes its context so a handler cannot change what another one logs', () => {
    const err = new PermanentError('x', { context: { a: 1 } });
    expect(() => {
      (err.context as Record<string, unknown>).a = 2;
    }).toThrow(TypeError);
  });

  it('names every bad configuration key in one message', () => {
    const err = new ConfigError([{ key: 'KAFKA_BROKERS', message: 'expected host:port' }, { key: 'EDGE_PORT', message: 'too big' }]);
    expect(err.message).toContain('KAFKA_BROKERS: expected host:port');
    expect(err.message).toContain('EDGE_PORT: too big');
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.retriable).toBe(false);
  });
});

describe('toAcmeSyncError', () => {
  it('wraps foreign errors with the stage and keeps their retriability', () => {
    const transient = toAcmeSyncError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'sink', { tenant: 't' });
    expect(transient).toBeInstanceOf(TransientError);
    expect(transient.stage).toBe('sink');
    expect(transient.context).toEqual({ tenant: 't' });
    const bug = toAcmeSyncError(new TypeError('x is undefined'), 'transform');
    expect(bug.retriable).toBe(false);
    expect(bug.stage).toBe('transform');
  });

  it('places our own errors at a stage without changing the original', () => {
    const original = new ValidationError('appointment has no start', { context: { acmeId: 'apt_1' } });
    const placed = toAcmeSyncError(original, 'validate');
    expect(placed.stage).toBe('validate');
    expect(placed).toBeInstanceOf(ValidationError);
    expect(placed.message).toBe('appointment has no start');
    expect(placed.context).toEqual({ acmeId: 'apt_1' });
    expect(original.stage).toBeUndefined();
    const kept = toAcmeSyncError(placed, 'sink');
    expect(kept.stage).toBe('validate');
  });
});

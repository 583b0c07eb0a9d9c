import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/index.js';
import { KafkaJSProtocolError } from 'kafkajs';
import { toKafkaError } from '../../src/kafka/kafkajs/errors.js';
import { kafkaUnavailable } from '../../src/producers/publisher.js';
import { correlationIdOf, createCommitCoalescer, retryFailureOf } from '../../src/consumers/runtime/runner.js';

describe('correlationIdOf', () => {
  it('takes the correlation-id header the edge wrote, else the event\'s field, so DLQ logs name the webhook or poll run', () => {
    expect(correlationIdOf({ headers: { 'correlation-id': 'msg_1' }, value: { correlation_id: 'other' } })).toBe('msg_1');
    expect(correlationIdOf({ headers: {}, value: { correlation_id: 'poll:abc' } })).toBe('poll:abc');
    expect(correlationIdOf({ headers: {}, value: null })).toBeUndefined();
  });
});

describe('createCommitCoalescer', () => {
  type Offsets = { topic: string; partition: number; offset: string }[];
  function deferredSender() {
    const calls: { offsets: Offsets; settle: (err?: Error) => void }[] = [];
    const send = (offsets: Offsets) => new Promise<void>((resolve, reject) => calls.push({ offsets, settle: (err) => (err ? reject(err) : resolve()) }));
    return { calls, send };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  it('keeps one commit request in flight and sends only the newest offset per partition with the next one', async () => {
    const { calls, send } = deferredSender();
    const kafka = createCommitCoalescer(send, () => undefined);
    kafka.commit('t', 0, '10');
    kafka.commit('t', 0, '20');
    kafka.commit('t', 1, '5');
    kafka.commit('t', 0, '30');
    expect(calls.map((c) => c.offsets)).toEqual([[{ topic: 't', partition: 0, offset: '10' }]]);
    calls[0]!.settle();
    await tick();
    expect(calls.map((c) => c.offsets)).toEqual([
      [{ topic: 't', partition: 0, offset: '10' }],
      [{ topic: 't', partition: 0, offset: '30' }, { topic: 't', partition: 1, offset: '5' }],
    ]);
  });

  it('reports a failed commit without throwing and goes on with the next one', async () => {
    const { calls, send } = deferredSender();
    const errors: unknown[] = [];
    const kafka = createCommitCoalescer(send, (err) => errors.push(err));
    kafka.commit('t', 0, '1');
    kafka.commit('t', 0, '2');
    calls[0]!.settle(new Error('coordinator moved'));
    await tick();
    expect(errors).toHaveLength(1);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.offsets).toEqual([{ topic: 't', partition: 0, offset: '2' }]);
  });

  it('flush waits until the commits waiting and in flight are sent', async () => {
    const { calls, send } = deferredSender();
    const kafka = createCommitCoalescer(send, () => undefined);
    kafka.commit('t', 0, '1');
    kafka.commit('t', 0, '2');
    let flushed = false;
    const flush = kafka.flush().then(() => (flushed = true));
    calls[0]!.settle();
    await tick();
    expect(flushed).toBe(false);
    calls[1]!.settle();
    await flush;
    expect(calls).toHaveLength(2);
  });
});

describe('retryFailureOf', () => {
  it('labels a PostgreSQL outage DATABASE_UNAVAILABLE, never INTERNAL — with or without a SQLSTATE (issue 12)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const terminated = new Error('Connection terminated unexpectedly');
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    for (const err of [refused, terminated, shutdown]) expect(retryFailureOf(err)).toMatchObject({ code: ERROR_CODES.DATABASE_UNAVAILABLE, retriable: true, stage: 'sink' });
  });

  it('keeps the code of our own errors, Kafka\'s as the Kafka port classified them', () => {
    expect(retryFailureOf(kafkaUnavailable(new Error('x'))).code).toBe(ERROR_CODES.KAFKA_UNAVAILABLE);
    const fromPort = toKafkaError(new KafkaJSProtocolError(Object.assign(new Error('leader not available'), { type: 'LEADER_NOT_AVAILABLE', code: 5, retriable: true })));
    expect(retryFailureOf(fromPort)).toMatchObject({ code: ERROR_CODES.KAFKA_UNAVAILABLE, retriable: true, stage: 'sink' });
  });
});

/**
 * The @platformatic/kafka adapter's pure parts: error classification, record batches as
 * the port's records, outgoing records as the library's messages, and the selection.
 */
import { MultipleErrors, NetworkError, ProtocolError, ResponseError, TimeoutError, UserError } from '@platformatic/kafka';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.js';
import { ERROR_CODES, PermanentError, TransientError } from '../../../src/errors/index.js';
import { createKafkaClient, kafkaOptionsFrom } from '../../../src/kafka/index.js';
import { outOfRangeIn, recordsOf } from '../../../src/kafka/platformatic/consumer.js';
import { toKafkaError } from '../../../src/kafka/platformatic/errors.js';
import { IS_CONTROL } from '../../../src/kafka/platformatic/library.js';
import { toMessage } from '../../../src/kafka/platformatic/producer.js';

const KEY = Buffer.alloc(32, 3).toString('base64');

describe('platformatic errors as ours', () => {
  it.each([
    ['a broker that cannot be reached', new NetworkError('Connection refused')],
    ['a request timeout (the library marks it not retriable)', new TimeoutError('Request timed out')],
    ['a leader that moved', new ProtocolError('NOT_LEADER_OR_FOLLOWER')],
    ['a group rebalancing', new ProtocolError('REBALANCE_IN_PROGRESS')],
    ['retries used up on an outage', new MultipleErrors('produce failed 9 times.', [new NetworkError('a'), new ProtocolError('LEADER_NOT_AVAILABLE')])],
  ])('%s is transient: KAFKA_UNAVAILABLE', (_what, err) => {
    const ours = toKafkaError(err, 'sending');
    expect(ours).toBeInstanceOf(TransientError);
    expect(ours.code).toBe(ERROR_CODES.KAFKA_UNAVAILABLE);
    expect(ours.cause).toBe(err);
  });

  it.each([
    ['a record too large', new ResponseError(0, 9, { '/topics/0/partitions/0': [10, null] }, {})],
    ['a refused authorization inside retries of an outage', new MultipleErrors('failed', [new NetworkError('a'), new ProtocolError('TOPIC_AUTHORIZATION_FAILED')])],
    ['a misuse of the library', new UserError('Cannot specify offsets')],
  ])('%s is permanent: KAFKA_REFUSED', (_what, err) => {
    const ours = toKafkaError(err, 'sending');
    expect(ours).toBeInstanceOf(PermanentError);
    expect(ours.code).toBe(ERROR_CODES.KAFKA_REFUSED);
  });

  it('a programmer error is ours to fix: INTERNAL, never retried', () => {
    const ours = toKafkaError(new TypeError('x is undefined'), 'fetching');
    expect(ours).toBeInstanceOf(PermanentError);
    expect(ours.code).toBe(ERROR_CODES.INTERNAL);
  });

  it('names the first protocol error as kafkaType, as the kafkajs adapter does', () => {
    expect(toKafkaError(new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'), 'x').context.kafkaType).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it('finds the partitions a Fetch answered OFFSET_OUT_OF_RANGE for', () => {
    const response = { responses: [{ topicId: 'id-a', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 2, errorCode: 1 }] }] };
    const err = new ResponseError(1, 17, { '/responses/0/partitions/1': [1, null] }, response);
    expect(outOfRangeIn(err, new Map([['id-a', 'topic-a']]))).toEqual(['topic-a:2']);
    expect(outOfRangeIn(new NetworkError('x'), new Map())).toEqual([]);
  });
});

type Batches = Parameters<typeof recordsOf>[0];
const batch = (firstOffset: bigint, count: number, attributes = 0) => ({
  firstOffset, lastOffsetDelta: count - 1, attributes, firstTimestamp: 1_700_000_000_000n,
  records: Array.from({ length: count }, (_, i) => ({ offsetDelta: i, timestampDelta: BigInt(i), key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`), headers: [[Buffer.from('h'), Buffer.from('1')], [Buffer.from('h'), Buffer.from('2')]] as [Buffer, Buffer][] })),
});

describe('record batches as the port records', () => {
  it('numbers records from their batch, keeps timestamps, and the last value of a repeated header', () => {
    const { records, lastOffset } = recordsOf([batch(10n, 3)] as unknown as Batches, 10n);
    expect(records.map((r) => r.offset)).toEqual(['10', '11', '12']);
    expect(records[2]!.timestamp).toBe('1700000000002');
    expect(records[0]!.headers.h?.toString()).toBe('2');
    expect(lastOffset).toBe(12n);
  });

  it('drops records before the fetch offset (a fetch can start inside a compressed batch)', () => {
    const { records } = recordsOf([batch(10n, 5)] as unknown as Batches, 13n);
    expect(records.map((r) => r.offset)).toEqual(['13', '14']);
  });

  it('skips transaction markers but counts their offsets, so the position moves past them', () => {
    const { records, lastOffset } = recordsOf([batch(0n, 2), batch(2n, 1, IS_CONTROL)] as unknown as Batches, 0n);
    expect(records.map((r) => r.offset)).toEqual(['0', '1']);
    expect(lastOffset).toBe(2n);
    const onlyMarker = recordsOf([batch(5n, 1, IS_CONTROL)] as unknown as Batches, 5n);
    expect(onlyMarker).toEqual({ records: [], lastOffset: 5n });
  });

  it('for any batches and fetch offset, hands over exactly the offsets at or after it, in order', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }), fc.nat(30), (sizes, from) => {
      let next = 0n;
      const batches = sizes.map((n) => { const b = batch(next, n); next += BigInt(n); return b; });
      const { records } = recordsOf(batches as unknown as Batches, BigInt(from));
      const expected = Array.from({ length: Number(next) }, (_, i) => i).filter((o) => o >= from).map(String);
      expect(records.map((r) => r.offset)).toEqual(expected);
    }));
  });
});

describe('outgoing records as the library messages', () => {
  it('hashes a Buffer key (the library routes a string key to partition 0) and carries headers and timestamp', () => {
    const m = toMessage('t', { key: 'tenant-1:a', value: Buffer.from('v'), headers: { correlation: 'c1' }, timestamp: '1700000000000' });
    expect(Buffer.isBuffer(m.key)).toBe(true);
    expect(m.key!.toString()).toBe('tenant-1:a');
    expect([...(m.headers as Map<Buffer, Buffer>)].map(([k, v]) => [k.toString(), v.toString()])).toEqual([['correlation', 'c1']]);
    expect(m.timestamp).toBe(1_700_000_000_000n);
  });

  it('leaves out a null key and value (a tombstone keeps its key)', () => {
    expect(toMessage('t', { key: 'k', value: null })).toEqual({ topic: 't', key: Buffer.from('k') });
  });
});

describe('KAFKA_CLIENT', () => {
  it('is kafkajs unless set, and refuses a client it does not know', () => {
    expect(loadConfig({ MASTER_KEYS: `k1:${KEY}` }).KAFKA_CLIENT).toBe('kafkajs');
    expect(() => loadConfig({ MASTER_KEYS: `k1:${KEY}`, KAFKA_CLIENT: 'rdkafka' })).toThrow(/KAFKA_CLIENT/);
  });

  it('reaches the factory, which builds the chosen adapter without loading a library before use', () => {
    const options = kafkaOptionsFrom(loadConfig({ MASTER_KEYS: `k1:${KEY}`, KAFKA_CLIENT: 'platformatic' }));
    expect(options.client).toBe('platformatic');
    const client = createKafkaClient(options);
    expect(Object.keys(client).sort()).toEqual(['admin', 'consumer', 'producer', 'readTopic']);
    expect(client.producer().isConnected()).toBe(false);
  });
});

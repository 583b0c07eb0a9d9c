import { describe, expect, it } from 'vitest';
import { DecodeError, PermanentError, TransientError, ERROR_CODES } from '../../../../src/errors/index.js';
import { Abandon, Bisect, Fatal, Refence, guard, judge, type StageName } from '../../../../src/consumers/runtime/stages/tolerance.js';

const STAGES: StageName[] = ['decode', 'admit', 'prepare', 'apply', 'emit'];
const transient = () => new TransientError('down', { code: ERROR_CODES.DATABASE_UNAVAILABLE });
const refused = () => Object.assign(new Error('invalid byte sequence'), { code: '22021' });

describe('stage tolerance (generated matrix: every stage × every kind of failure)', () => {
  const cases: [string, () => unknown, (stage: StageName) => string][] = [
    ['a transient failure', transient, () => 'retry'],
    ['a refence', () => new Refence(), () => 'retry'],
    ['a value PostgreSQL refuses', refused, (s) => (s === 'apply' ? 'dlq' : s === 'emit' ? 'retry' : 'fatal')],
    ['a bisect signal', () => new Bisect(refused()), (s) => (s === 'apply' ? 'dlq' : s === 'emit' ? 'retry' : 'fatal')],
    ['a programmer error', () => new TypeError('x is undefined'), (s) => (s === 'emit' ? 'retry' : 'fatal')],
    ['a permanent error thrown instead of returned', () => new PermanentError('nope', { code: ERROR_CODES.UNKNOWN_TENANT }), (s) => (s === 'emit' ? 'retry' : 'fatal')],
    ['a stop', () => new Abandon('stopping'), () => 'fatal'],
    ['a fatal', () => new Fatal(new TypeError('x')), () => 'fatal'],
  ];
  for (const [name, make, expected] of cases) {
    it(`judges ${name} per stage`, () => {
      for (const stage of STAGES) expect([stage, judge(stage, make())]).toEqual([stage, expected(stage)]);
    });
  }

  it('guard lets retriable failures and the runner’s signals through and turns anything else into Fatal', async () => {
    for (const stage of STAGES) {
      await expect(guard(stage, async () => { throw transient(); })).rejects.toBeInstanceOf(TransientError);
      await expect(guard(stage, async () => { throw new Refence(); })).rejects.toBeInstanceOf(Refence);
      await expect(guard(stage, async () => { throw new DecodeError('bad bytes'); })).rejects.toBeInstanceOf(stage === 'emit' ? DecodeError : Fatal);
    }
    await expect(guard('prepare', async () => { throw new TypeError('bug'); })).rejects.toBeInstanceOf(Fatal);
  });
});

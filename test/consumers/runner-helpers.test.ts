import { describe, expect, it } from 'vitest';
import { correlationIdOf } from '../../src/consumers/runtime/runner.js';

describe('correlationIdOf', () => {
  it('takes the correlation-id header the edge wrote, else the event\'s field, so DLQ logs name the webhook or poll run', () => {
    expect(correlationIdOf({ headers: { 'correlation-id': 'msg_1' }, value: { correlation_id: 'other' } })).toBe('msg_1');
    expect(correlationIdOf({ headers: {}, value: { correlation_id: 'poll:abc' } })).toBe('poll:abc');
    expect(correlationIdOf({ headers: {}, value: null })).toBeUndefined();
  });
});

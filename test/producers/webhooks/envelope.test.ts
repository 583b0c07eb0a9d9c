import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/errors/index.js';
import { parseEnvelope, parseJson } from '../../../src/producers/webhooks/envelope.js';

const contact = { id: 'con_1', first_name: 'A', last_name: 'B', email: null, phone: null, company: null, version: 2, created_at: '2025-03-06T09:00:00.000Z', updated_at: '2025-03-06T09:05:00.000Z', deleted_at: null };
const event = (over: Record<string, unknown> = {}) => ({ id: 'evt_1', type: 'contact.updated', account_id: 'acc_1', occurred_at: '2025-03-06T09:05:00.000Z', data: { object: contact }, ...over });

describe('the webhook envelope', () => {
  it('reads a full payload with its object type and action', () => {
    expect(parseEnvelope(event())).toEqual({ eventId: 'evt_1', accountId: 'acc_1', objectType: 'contact', action: 'updated', payload: 'full', object: contact });
  });

  it('reads a thin payload as the object to fetch', () => {
    expect(parseEnvelope(event({ type: 'appointment.deleted', data: { id: 'apt_9', object_type: 'appointment', version: 4 } }))).toMatchObject({
      payload: 'thin', objectType: 'appointment', action: 'deleted', objectId: 'apt_9', version: 4,
    });
  });

  it('passes an identifiable but incomplete object on (the consumers decide)', () => {
    const { first_name: _drop, ...partial } = contact;
    expect(parseEnvelope(event({ data: { object: partial } }))).toMatchObject({ payload: 'full', object: partial });
  });

  it.each([
    ['an event ID without evt_', event({ id: '1' }), 'id'],
    ['an unknown event type', event({ type: 'user.updated' }), 'type'],
    ['an object without version', event({ data: { object: { ...contact, version: undefined } } }), 'data'],
    ['an ID of another type', event({ data: { object: { ...contact, id: 'apt_1' } } }), 'data'],
    ['a thin payload whose type disagrees', event({ data: { id: 'con_1', object_type: 'activity', version: 1 } }), 'data'],
    ['no data', event({ data: undefined }), 'data'],
  ])('refuses %s, naming the field', (_name, value, field) => {
    expect(() => parseEnvelope(value)).toThrow(expect.objectContaining({ code: ERROR_CODES.VALIDATION_FAILED, message: expect.stringContaining(field) }));
  });

  it('refuses bytes that are not JSON', () => {
    expect(() => parseJson(Buffer.from('{"id":"evt_1",'))).toThrow(expect.objectContaining({ code: ERROR_CODES.VALIDATION_FAILED, message: expect.stringContaining('not valid JSON') }));
    expect(() => parseJson(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: ERROR_CODES.VALIDATION_FAILED }));
  });
});

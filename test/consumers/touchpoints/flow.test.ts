import avro from 'avsc';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTouchpointFlow, toOutput } from '../../../src/consumers/touchpoints/flow.js';
import type { FlowContext, InboundRecord, TenantDirectory } from '../../../src/consumers/runtime/types.js';
import { ERROR_CODES, PermanentError, TransientError } from '../../../src/errors/index.js';
import { loadAvroSchema } from '../../../src/registry/index.js';
import { tenantSettingsSchema, type AcmeUserRecord, type Tenant, type TenantSettingsInput } from '../../../src/tenants/types.js';
import type { AcmeActivityEvent } from '../../../src/transforms/types.js';

function tenant(id: string, settings: TenantSettingsInput = {}): Tenant {
  return {
    id, name: id, status: 'active', acmeBaseUrl: 'http://acme.test', acmeAccountId: null, authKind: 'api_key',
    settings: tenantSettingsSchema.parse(settings), webhookSubscriptionId: null,
    secretsSet: { apiKey: true, oauth: false, webhookSecrets: 1 }, version: 1, createdAt: '', updatedAt: '',
  };
}

const TENANTS = new Map([
  ['tenant-a', tenant('tenant-a', { defaultTimeZone: 'America/Los_Angeles', userMapping: { overrides: { usr_2: 'our-user-2' } } })],
  ['tenant-off', tenant('tenant-off', { flows: { calendar: true, touchpoints: false } })],
]);

/** A directory over fixed data that records which users were looked up. */
function directory(users: Record<string, AcmeUserRecord | Error | undefined>): TenantDirectory & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    get: async (id) => TENANTS.get(id),
    acmeUser: async (tenantId, acmeUserId) => {
      lookups.push(`${tenantId}/${acmeUserId}`);
      const user = users[acmeUserId];
      if (user instanceof Error) throw user;
      return user;
    },
  };
}

function ctxWith(tenants: TenantDirectory): FlowContext {
  return { now: () => 1_700_000_000_000, tenants, acme: () => { throw new Error('the flow never calls Acme directly'); }, logger: pino({ level: 'silent' }) };
}

let offset = 0;
function record(overrides: Partial<AcmeActivityEvent> = {}): InboundRecord<AcmeActivityEvent> {
  const value: AcmeActivityEvent = {
    event_id: `evt-${offset}`, tenant_id: 'tenant-a', acme_id: 'act_1', acme_version: 1,
    acme_updated_at: 0, operation: 'UPSERT', source: 'WEBHOOK', received_at: 0, correlation_id: null,
    activity_type: 'email', direction: 'outbound', user_id: 'usr_1', contact_id: null, subject: null,
    // 03:00 UTC: still the 9th in Los Angeles and New York, the 10th in Tokyo.
    occurred_at: Date.parse('2026-03-10T03:00:00Z'), duration_seconds: null,
    ...overrides,
  };
  offset += 1;
  return { topic: 'acme.activities.v1', kind: 'activities', partition: 0, offset: String(offset), key: `${value.tenant_id}:${value.acme_id}`, value, schemaId: 1, headers: {}, timestamp: 0, raw: null };
}

const user = (acmeUserId: string, timeZone: string | null): AcmeUserRecord => ({ tenantId: 'tenant-a', acmeUserId, email: `${acmeUserId}@example.com`, name: null, timeZone });

describe('preparing activity records for the touch-point sink', () => {
  it('counts each activity on the local day of its user, else of the tenant default zone', async () => {
    const tenants = directory({ usr_1: user('usr_1', 'Asia/Tokyo'), usr_2: user('usr_2', null), usr_3: undefined });
    const { ready, dlq } = await createTouchpointFlow().prepare(
      [record({ user_id: 'usr_1' }), record({ acme_id: 'act_2', user_id: 'usr_2' }), record({ acme_id: 'act_3', user_id: 'usr_3', activity_type: 'call' })],
      ctxWith(tenants),
    );
    expect(dlq).toEqual([]);
    expect(ready.facts.map((f) => [f.acmeId, f.acmeUserId, f.day, f.channel])).toEqual([
      ['act_1', 'usr_1', '2026-03-10', 'EMAIL'],
      ['act_2', 'usr_2', '2026-03-09', 'EMAIL'],
      ['act_3', 'usr_3', '2026-03-09', 'PHONE'],
    ]);
  });

  it('looks each user up once per batch, and never for deletes or types that do not count', async () => {
    const tenants = directory({ usr_1: user('usr_1', 'Asia/Tokyo') });
    await createTouchpointFlow().prepare(
      [record(), record({ acme_id: 'act_2' }), record({ acme_id: 'act_3', activity_type: 'meeting', user_id: 'usr_9' }), record({ acme_id: 'act_4', operation: 'DELETE', user_id: 'usr_8' })],
      ctxWith(tenants),
    );
    expect(tenants.lookups).toEqual(['tenant-a/usr_1']);
  });

  it('sends bad data to the DLQ with a validate-stage error and keeps the rest of the batch', async () => {
    const bad = record({ acme_id: 'act_bad', user_id: null });
    const unknown = record({ tenant_id: 'tenant-gone' });
    const { ready, dlq } = await createTouchpointFlow().prepare([bad, record(), unknown], ctxWith(directory({})));
    expect(ready.facts.map((f) => f.acmeId)).toEqual(['act_1']);
    expect(dlq.map((d) => [d.record, d.error.code, d.error.stage])).toEqual([
      [bad, ERROR_CODES.VALIDATION_FAILED, 'validate'],
      [unknown, ERROR_CODES.UNKNOWN_TENANT, 'validate'],
    ]);
  });

  it('throws when a user lookup fails in a way waiting can fix, so the runner retries the batch', async () => {
    const tenants = directory({ usr_1: new TransientError('Acme is down', { code: ERROR_CODES.ACME_UNAVAILABLE }) });
    await expect(createTouchpointFlow().prepare([record()], ctxWith(tenants))).rejects.toThrow(/Acme is down/);
  });

  it('sends a record to the DLQ at the enrich stage when its user lookup fails for good', async () => {
    const tenants = directory({ usr_1: new PermanentError('refused', { code: ERROR_CODES.ACME_AUTH_FAILED }) });
    const { dlq } = await createTouchpointFlow().prepare([record()], ctxWith(tenants));
    expect(dlq.map((d) => [d.error.code, d.error.stage])).toEqual([[ERROR_CODES.ACME_AUTH_FAILED, 'enrich']]);
  });

  it('consumes but counts nothing for a tenant whose touch-point flow is off', async () => {
    const { ready, dlq } = await createTouchpointFlow().prepare([record({ tenant_id: 'tenant-off' })], ctxWith(directory({})));
    expect(ready).toMatchObject({ facts: [], ignored: new Map([['tenant-off', 1]]) });
    expect(dlq).toEqual([]);
  });
});

describe('a changed count as an output record', () => {
  const type = avro.Type.forSchema(JSON.parse(loadAvroSchema('touchpoint-aggregate.avsc')));
  const overrides = { 'tenant-a': { usr_2: 'our-user-2' } };

  it('is keyed tenant:user:day:channel and matches the Avro contract, day as days since the epoch', () => {
    const out = toOutput({ tenantId: 'tenant-a', acmeUserId: 'usr_1', day: '2026-03-10', channel: 'PHONE', count: 3, email: 'ada@example.com' }, overrides, 1_700_000_000_000);
    expect(out).toEqual({
      kind: 'touchpoints',
      key: 'tenant-a:usr_1:2026-03-10:PHONE',
      value: { tenant_id: 'tenant-a', acme_user_id: 'usr_1', user_id: 'ada@example.com', day: 20522, channel: 'PHONE', count: 3, updated_at: 1_700_000_000_000 },
    });
    expect(type.isValid(out.value)).toBe(true);
  });

  it('names our user by the tenant override first, and carries a count that fell to zero', () => {
    const out = toOutput({ tenantId: 'tenant-a', acmeUserId: 'usr_2', day: '2026-03-10', channel: 'EMAIL', count: 0, email: 'grace@example.com' }, overrides, 0);
    expect(out.value).toMatchObject({ user_id: 'our-user-2', count: 0 });
    expect(type.isValid(out.value)).toBe(true);
  });
});

import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { ERROR_CODES, DecodeError, PermanentError } from '../../src/errors/index.js';
import { TOPIC_KINDS, TOPIC_SPECS, valueSubject } from '../../src/kafka/index.js';
import { createAvroCodec, createRegistry, loadAvroSchema, registerSchemas, setCompatibility } from '../../src/registry/index.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

const subjectConfig = async (subject: string) =>
  (await (await fetch(`${stack.config.SCHEMA_REGISTRY_URL}/config/${subject}`)).json()) as { compatibilityLevel: string };

describe('schema registration', () => {
  it('registers every value schema under its topic subject with the configured compatibility', async () => {
    for (const kind of TOPIC_KINDS) {
      if (TOPIC_SPECS[kind].schemaFile === null) continue;
      const subject = valueSubject(stack.topics[kind]);
      expect(stack.schemaIds[kind], kind).toBeTypeOf('number');
      expect((await subjectConfig(subject)).compatibilityLevel).toBe('BACKWARD');
      expect(await stack.registry.getLatestSchemaId(subject)).toBe(stack.schemaIds[kind]);
    }
  });

  it('returns the same IDs when the schemas are registered again at the next start-up', async () => {
    const again = await registerSchemas(createRegistry(stack.config.SCHEMA_REGISTRY_URL), {
      url: stack.config.SCHEMA_REGISTRY_URL,
      compatibility: 'BACKWARD',
      topics: stack.topics,
    });
    expect(again).toEqual(stack.schemaIds);
  });

  it('accepts a backward-compatible change: a new optional field with a default', async () => {
    const schema = JSON.parse(loadAvroSchema('acme-contact-event.avsc'));
    schema.fields.push({ name: 'title', type: ['null', 'string'], default: null });
    const { id } = await stack.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: valueSubject(stack.topics.contacts) });
    expect(id).not.toBe(stack.schemaIds.contacts);
  });

  it('refuses an incompatible change: a new required field without a default', async () => {
    const schema = JSON.parse(loadAvroSchema('acme-activity-event.avsc'));
    schema.fields.push({ name: 'mandatory', type: 'string' });
    const subject = valueSubject(stack.topics.activities);
    const attempt = stack.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject });
    await expect(attempt).rejects.toMatchObject({ status: 409 });
    expect(await stack.registry.getLatestSchemaId(subject)).toBe(stack.schemaIds.activities);
  });
});

describe('the Avro codec', () => {
  it('round-trips a record in the Confluent wire format with its schema ID', async () => {
    const event = {
      event_id: 'e1', tenant_id: 't', acme_id: 'apt_1', acme_version: 3, acme_updated_at: 1_700_000_000_000, operation: 'UPSERT',
      source: 'POLL', received_at: 1_700_000_000_500, correlation_id: null, owner_user_id: 'usr_1', contact_id: 'con_1', title: 'Demo',
      starts_at: 1_700_000_360_000, ends_at: null, time_zone: 'Europe/Berlin', location: null, status: 'SCHEDULED',
    };
    const bytes = await stack.codec.encode('appointments', event);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(stack.schemaIds.appointments);
    const decoded = await stack.codec.decode(bytes);
    expect(decoded.schemaId).toBe(stack.schemaIds.appointments);
    expect({ ...decoded.value }).toEqual(event);
  });

  it('refuses to encode a record that does not match the schema, as a permanent validation error', async () => {
    await expect(stack.codec.encode('contacts', { tenant_id: 't' })).rejects.toSatisfy(
      (e: unknown) => e instanceof PermanentError && e.code === ERROR_CODES.VALIDATION_FAILED,
    );
  });

  it('reports unframed bytes and unknown schema IDs as permanent decode errors', async () => {
    await expect(stack.codec.decode(Buffer.from('{"json":true}'))).rejects.toBeInstanceOf(DecodeError);
    const unknownId = Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 0]);
    await expect(stack.codec.decode(unknownId)).rejects.toBeInstanceOf(DecodeError);
  });

  it('reports an unreachable registry as a transient error', async () => {
    const dead = createAvroCodec(createRegistry('http://127.0.0.1:1/apis/ccompat/v7'), stack.schemaIds);
    const framed = Buffer.from([0, 0, 0, 0, 99, 0]);
    await expect(dead.decode(framed)).rejects.toMatchObject({ retriable: true, code: ERROR_CODES.REGISTRY_UNAVAILABLE });
  });
});

describe('registration when several processes start at once (issue 13)', () => {
  it('sets a fresh subject compatibility from many writers at once, and each sees its level', async () => {
    const subject = `${stack.id}.race-${Date.now()}-value`;
    await Promise.all(Array.from({ length: 8 }, () => setCompatibility(stack.config.SCHEMA_REGISTRY_URL, 'BACKWARD', subject)));
    expect((await subjectConfig(subject)).compatibilityLevel).toBe('BACKWARD');
  });

  it('still refuses a real incompatibility with SCHEMA_INCOMPATIBLE and the registry words', async () => {
    const topic = `${stack.id}.incompatible-${Date.now()}`;
    const other = { type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] };
    await setCompatibility(stack.config.SCHEMA_REGISTRY_URL, 'BACKWARD', valueSubject(topic));
    await stack.registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(other) }, { subject: valueSubject(topic) });
    const attempt = registerSchemas(stack.registry, { url: stack.config.SCHEMA_REGISTRY_URL, compatibility: 'BACKWARD', topics: { ...stack.topics, contacts: topic }, kinds: ['contacts'] });
    await expect(attempt).rejects.toMatchObject({ code: ERROR_CODES.SCHEMA_INCOMPATIBLE, retriable: false, message: expect.stringMatching(/incompatible/i) });
  });
});

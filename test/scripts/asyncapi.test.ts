import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AsyncAPIDocumentInterface } from '@asyncapi/parser';
import { ASYNCAPI_FILE, ASYNCAPI_HTML, AVRO_DIR, LOGICAL_TYPES, logicalFields, renderAsyncApiYaml } from '../../scripts/asyncapi/contract.js';
import { renderAsyncApiHtml } from '../../scripts/asyncapi/html.js';
import { parseAsyncApi } from '../../scripts/asyncapi/parse.js';
import { DLQ_HEADERS } from '../../src/consumers/runtime/dlq.js';
import { TOPIC_KINDS, TOPIC_SPECS, recordKey, topicConfig, topicNames, touchPointKey, type TopicKind } from '../../src/kafka/topics.js';

/**
 * The subscriber contract cannot drift: the committed schemas/asyncapi.yaml and
 * docs/asyncapi.html must be what `npm run docs:asyncapi` builds today, and the document's
 * facts are checked against the code that makes them (topic catalogue, key builders,
 * topic configs, Avro files, DLQ headers) — independently of the generator.
 */
const committed = readFileSync(ASYNCAPI_FILE, 'utf8');
let doc: AsyncAPIDocumentInterface;

beforeAll(async () => {
  const { document, problems } = await parseAsyncApi(committed);
  expect(problems.map((p) => `${p.code} ${p.path.join('.')}: ${p.message}`)).toEqual([]);
  doc = document!;
});

/** The key each topic's writer builds, from the value's fields (the code under test). */
const KEY_OF: Record<Exclude<TopicKind, 'dlq'>, (v: Record<string, string>) => string> = {
  appointments: (v) => recordKey(v.tenant_id!, v.acme_id!),
  contacts: (v) => recordKey(v.tenant_id!, v.acme_id!),
  activities: (v) => recordKey(v.tenant_id!, v.acme_id!),
  calendar: (v) => recordKey(v.tenant_id!, v.acme_appointment_id!),
  touchpoints: (v) => touchPointKey(v.tenant_id!, v.acme_user_id!, v.day!, v.channel!),
  calendar_changes: (v) => recordKey(v.tenant_id!, v.acme_id!),
  appointmentsHistory: (v) => recordKey(v.tenant_id!, v.acme_id!),
  contactsHistory: (v) => recordKey(v.tenant_id!, v.acme_id!),
  activitiesHistory: (v) => recordKey(v.tenant_id!, v.acme_id!),
};

const channel = (kind: TopicKind) => doc.channels().get(kind)!;
const kafkaBinding = (kind: TopicKind) => channel(kind).bindings().get('kafka')!.value() as { topic: string; topicConfiguration: Record<string, unknown> };
const messageBinding = (kind: TopicKind) => channel(kind).messages().all()[0]!.bindings().get('kafka')!.value() as { key: { examples: string[] } };
const keyTemplate = (kind: TopicKind) => channel(kind).json()['x-key-template'] as string | null;

describe('the AsyncAPI subscriber contract', () => {
  it('is what npm run docs:asyncapi generates today (YAML and HTML)', () => {
    expect(committed, 'run npm run docs:asyncapi').toBe(renderAsyncApiYaml());
    expect(readFileSync(ASYNCAPI_HTML, 'utf8'), 'run npm run docs:asyncapi').toBe(renderAsyncApiHtml(doc));
  });

  it('has one channel per topic of the catalogue, named prefix + base name for any prefix', () => {
    expect(doc.channels().all().map((c) => c.id()).sort()).toEqual([...TOPIC_KINDS].sort());
    fc.assert(fc.property(fc.stringMatching(/^[a-zA-Z0-9._-]{0,20}$/), (prefix) => {
      const names = topicNames(prefix);
      for (const kind of TOPIC_KINDS) {
        expect(channel(kind).address()!.replace('{prefix}', prefix)).toBe(names[kind]);
        expect(kafkaBinding(kind).topic.replace('{prefix}', prefix)).toBe(names[kind]);
      }
    }));
  });

  it.each(TOPIC_KINDS)('documents the cleanup policy and retention of %s as the topic is created', (kind) => {
    const expected = Object.fromEntries(topicConfig(TOPIC_SPECS[kind]).map(({ name, value }) => [name, name === 'cleanup.policy' ? [value] : Number(value)]));
    expect(kafkaBinding(kind).topicConfiguration).toEqual(expected);
  });

  it.each(TOPIC_KINDS.filter((k) => k !== 'dlq') as Exclude<TopicKind, 'dlq'>[])('documents the key of %s as its writer builds it, for any field values', (kind) => {
    const template = keyTemplate(kind)!;
    const placeholders = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const avroFields = (JSON.parse(readFileSync(new URL(TOPIC_SPECS[kind].schemaFile!, AVRO_DIR), 'utf8')) as { fields: { name: string }[] }).fields.map((f) => f.name);
    expect(avroFields, 'key placeholders are value fields').toEqual(expect.arrayContaining(placeholders));
    const field = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes(':') && !s.includes('{'));
    fc.assert(fc.property(fc.record(Object.fromEntries(placeholders.map((p) => [p, field]))), (values) => {
      const fromDoc = template.replace(/\{(\w+)\}/g, (_, name: string) => values[name]!);
      expect(fromDoc).toBe(KEY_OF[kind](values));
    }));
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^:]+')}$`);
    expect(messageBinding(kind).key.examples[0]).toMatch(pattern);
  });

  it.each(TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].schemaFile !== null))('takes the value of %s from its Avro file, unchanged', (kind) => {
    const file = TOPIC_SPECS[kind].schemaFile!;
    expect(committed).toContain(`$ref: ./avro/${file}`);
    const payload = (channel(kind).messages().all()[0]!.payload()!.json() as Record<string, unknown>)['x-parser-original-payload'];
    expect(payload).toEqual(JSON.parse(readFileSync(new URL(file, AVRO_DIR), 'utf8')));
  });

  it('lists every acme-sync.error.* header of a DLQ record as required', () => {
    const headers = channel('dlq').messages().all()[0]!.headers()!.json() as { required: string[]; properties: Record<string, unknown> };
    expect([...headers.required].sort()).toEqual(Object.values(DLQ_HEADERS).sort());
    for (const name of Object.values(DLQ_HEADERS)) expect(headers.properties).toHaveProperty([name]);
  });

  it('explains every logical type an Avro field uses', () => {
    const description = doc.info().description()!;
    const rows = logicalFields();
    expect(rows.length).toBeGreaterThan(0);
    for (const [file, field, type] of rows) {
      expect(LOGICAL_TYPES, `${file} ${field}: ${type}`).toHaveProperty([type]);
      expect(description).toContain(`| ${file} | ${field} | ${type} |`);
    }
  });
});

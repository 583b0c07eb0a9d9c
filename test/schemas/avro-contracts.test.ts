import { readdirSync, readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../schemas/avro/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.avsc'));
const load = (f: string) => JSON.parse(readFileSync(new URL(f, DIR), 'utf8'));

interface Field { name: string; type: unknown; default?: unknown; doc?: string }

describe('the Avro contracts', () => {
  it.each(files)('%s parses as Avro and documents the record', (file) => {
    const schema = load(file);
    expect(() => avro.Type.forSchema(schema)).not.toThrow();
    expect(schema.doc, 'record doc').toBeTruthy();
  });

  it.each(files.filter((f) => f.startsWith('acme-')))('%s carries tenant, Acme ID, version, update time, operation and event ID', (file) => {
    const names = (load(file).fields as Field[]).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['event_id', 'tenant_id', 'acme_id', 'acme_version', 'acme_updated_at', 'operation']));
  });

  it.each(files)('%s uses timestamp logical types for instants and defaults on every optional field', (file) => {
    for (const field of load(file).fields as Field[]) {
      const text = JSON.stringify(field.type);
      if (/_at$/.test(field.name)) expect(text, field.name).toContain('timestamp-millis');
      if (Array.isArray(field.type) && field.type[0] === 'null') expect(field, field.name).toHaveProperty('default', null);
    }
  });

  it('reads an event written before a new optional field was added (BACKWARD evolution)', () => {
    const v1 = avro.Type.forSchema(load('acme-contact-event.avsc'));
    const v2schema = load('acme-contact-event.avsc');
    v2schema.fields.push({ name: 'title', type: ['null', 'string'], default: null });
    const v2 = avro.Type.forSchema(v2schema);
    const written = v1.toBuffer({
      event_id: 'e', tenant_id: 't', acme_id: 'con_1', acme_version: 1, acme_updated_at: 0, operation: 'UPSERT', source: 'POLL',
      received_at: 0, correlation_id: null, first_name: 'A', last_name: null, email: null, phone: null, company: null,
    });
    const read = v2.fromBuffer(written, v2.createResolver(v1));
    expect(read.title).toBeNull();
    expect(read.first_name).toBe('A');
  });
});

describe('the calendar.changes.v1 input contract (issue 15)', () => {
  const schema = load('calendar-change.avsc');
  const type = avro.Type.forSchema(schema);

  it('names the Acme appointment, the change, its calendar version and time, who made it and which fields changed', () => {
    const names = (schema.fields as Field[]).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['change_id', 'tenant_id', 'acme_id', 'calendar_version', 'base_acme_version', 'changed_at', 'changed_by', 'changed_fields', 'title', 'starts_at', 'ends_at', 'time_zone', 'location', 'status']));
  });

  it('round-trips a cancellation and tolerates enum symbols added later (enum defaults)', () => {
    const change = {
      change_id: 'c1', tenant_id: 't', acme_id: 'apt_1', calendar_version: 3, base_acme_version: 7, changed_at: 0, changed_by: 'u1',
      changed_fields: ['STATUS'], title: null, starts_at: null, ends_at: null, time_zone: null, location: null, status: 'CANCELLED', correlation_id: null,
    };
    expect(type.fromBuffer(type.toBuffer(change))).toMatchObject({ change_id: 'c1', changed_fields: ['STATUS'], status: 'CANCELLED' });
    const newer = structuredClone(schema);
    newer.fields.find((f: Field) => f.name === 'changed_fields').type.items.symbols.push('ATTENDEES');
    const writer = avro.Type.forSchema(newer);
    const read = type.fromBuffer(writer.toBuffer({ ...change, changed_fields: ['ATTENDEES', 'TITLE'] }), type.createResolver(writer));
    expect(read.changed_fields).toEqual(['UNKNOWN', 'TITLE']);
  });
});

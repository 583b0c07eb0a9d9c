/**
 * Stage decode: Kafka messages → records, Avro values decoded. A record whose bytes do not
 * decode is the record's fault (DecodeError → DLQ, stage `decode`); the registry being
 * down is not (retriable: the batch is retried). Tolerance: tolerance.ts.
 */
import { DecodeError } from '../../../errors/index.js';
import type { IncomingRecord, TopicKind } from '../../../kafka/index.js';
import type { AvroCodec } from '../../../registry/index.js';
import { schemaIdOrUnknown } from '../dlq.js';
import type { DlqEntry, InboundRecord } from '../types.js';

export function toInbound(kindOf: ReadonlyMap<string, TopicKind>, topic: string, partition: number, m: IncomingRecord): InboundRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.headers)) if (v !== undefined) headers[k] = String(v);
  return {
    topic, kind: kindOf.get(topic)!, partition, offset: m.offset, key: m.key?.toString('utf8') ?? null, value: null,
    schemaId: schemaIdOrUnknown(m.value), headers, timestamp: Number(m.timestamp), raw: m.value,
  };
}

export async function decode(codec: AvroCodec, records: readonly InboundRecord[]): Promise<{ ok: InboundRecord[]; dlq: DlqEntry[] }> {
  const ok: InboundRecord[] = [];
  const dlq: DlqEntry[] = [];
  for (const record of records) {
    try {
      const decoded = await codec.decode(record.raw);
      ok.push({ ...record, value: decoded.value, schemaId: decoded.schemaId });
    } catch (err) {
      if (err instanceof DecodeError) dlq.push({ record, error: err.atStage('decode') });
      else throw err;
    }
  }
  return { ok, dlq };
}

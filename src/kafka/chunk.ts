/**
 * A broker refuses a record batch larger than `max.message.bytes` (1 MiB by default) with
 * MESSAGE_TOO_LARGE, and a client sends one record batch per partition per request.
 * Producers split a large send into requests of at most `maxBytes`, in order, so no
 * partition's batch can exceed it (every adapter's `send` does, src/kafka/types.ts). A
 * single record larger than `maxBytes` travels alone.
 */
import type { OutgoingRecord, TopicRecords } from './types.js';

export const MAX_REQUEST_BYTES = 512 * 1024;
/** Per-record overhead in a v2 record batch (varints, attributes, deltas), roughly. */
const RECORD_OVERHEAD_BYTES = 64;

function sizeOf(record: OutgoingRecord): number {
  const len = (v: Buffer | string | null | undefined) => (v === null || v === undefined ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(v));
  let headers = 0;
  for (const [k, v] of Object.entries(record.headers ?? {})) headers += Buffer.byteLength(k) + len(v);
  return RECORD_OVERHEAD_BYTES + len(record.key) + len(record.value) + headers;
}

export function chunkTopicRecords(topicRecords: readonly TopicRecords[], maxBytes = MAX_REQUEST_BYTES): TopicRecords[][] {
  const chunks: TopicRecords[][] = [];
  let current: TopicRecords[] = [];
  let bytes = 0;
  for (const { topic, records } of topicRecords) {
    for (const record of records) {
      const size = sizeOf(record);
      if (bytes > 0 && bytes + size > maxBytes) {
        chunks.push(current);
        current = [];
        bytes = 0;
      }
      const last = current.at(-1);
      if (last?.topic === topic) last.records.push(record);
      else current.push({ topic, records: [record] });
      bytes += size;
    }
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * When is a backlog drained? For the runner: when PostgreSQL holds, for the group,
 * a next offset at the high watermark of every input partition (the offsets are
 * stored in the same transaction as the writes, so that is "committed"). For the
 * bare clients: when they counted every record.
 */
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import { waitUntil } from '../../test/helpers/wait.js';

export type Watermarks = Map<string, bigint>;

export async function highWatermarks(admin: Admin, topics: readonly string[]): Promise<Watermarks> {
  const out: Watermarks = new Map();
  for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) out.set(`${topic}:${p.partition}`, BigInt(p.high));
  return out;
}

export function total(marks: Watermarks): number {
  return Number([...marks.values()].reduce((a, b) => a + b, 0n));
}

/** Records the group has stored offsets for, summed over the given partitions. */
export async function storedProgress(pool: pg.Pool, groupIds: readonly string[], marks: Watermarks): Promise<number> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string }>(
    'SELECT topic, partition, next_offset FROM consumer_offsets WHERE group_id = ANY($1::text[])',
    [groupIds],
  );
  let done = 0n;
  for (const r of rows) {
    const key = `${r.topic}:${r.partition}`;
    const high = marks.get(key);
    if (high !== undefined) done += BigInt(r.next_offset) < high ? BigInt(r.next_offset) : high;
  }
  return Number(done);
}

/** Poll until `target` records are stored (or `timeoutMs`); resolves with the time it was seen. */
export async function waitForStored(pool: pg.Pool, groupIds: readonly string[], marks: Watermarks, target: number, options: { pollMs?: number; timeoutMs?: number } = {}): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  return waitUntil(async () => {
    const done = await storedProgress(pool, groupIds, marks);
    if (done < target) throw new Error(`not drained: ${done}/${target} after ${timeoutMs} ms`);
    return performance.now();
  }, { timeoutMs, intervalMs: options.pollMs ?? 50 });
}

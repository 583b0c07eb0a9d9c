/**
 * Consumed offsets live in PostgreSQL next to the state they produced (one
 * transaction), so a crash can never store one without the other. The row lock on
 * (group, topic, partition) serializes the partition's writers: a zombie consumer that
 * kafkajs still feeds after losing the partition in a rebalance (kafkajs#1046) waits,
 * then sees the new owner's offset and skips what is already done.
 */
import type { Queryable } from '../sinks/contacts.js';

export interface PartitionRef {
  groupId: string;
  topic: string;
  partition: number;
}

/** The stored next offset, or null when the partition was never consumed. No lock. */
export async function readNextOffset(db: Queryable, ref: PartitionRef): Promise<string | null> {
  const { rows } = await db.query<{ next_offset: string }>('SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3', [ref.groupId, ref.topic, ref.partition]);
  return rows[0]?.next_offset ?? null;
}

/** Lock the partition's row for this transaction (creating it at 0 when missing); returns the next offset. */
export async function lockNextOffset(db: Queryable, ref: PartitionRef): Promise<string> {
  const params = [ref.groupId, ref.topic, ref.partition];
  // One round trip per batch once the row exists; the insert only for a partition's first batch.
  const locked = await db.query<{ next_offset: string }>(LOCK_OFFSET, params);
  if (locked.rows[0] !== undefined) return locked.rows[0].next_offset;
  await db.query('INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING', params);
  const { rows } = await db.query<{ next_offset: string }>(LOCK_OFFSET, params);
  return rows[0]!.next_offset;
}

const LOCK_OFFSET = 'SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE';

export async function storeNextOffset(db: Queryable, ref: PartitionRef, nextOffset: string): Promise<void> {
  await db.query('UPDATE consumer_offsets SET next_offset = $4, updated_at = now() WHERE group_id = $1 AND topic = $2 AND partition = $3', [ref.groupId, ref.topic, ref.partition, nextOffset]);
}

export function isBelow(offset: string, next: string | null): boolean {
  return next !== null && BigInt(offset) < BigInt(next);
}

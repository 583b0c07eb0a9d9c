/**
 * Every written row's output reached its topic exactly as the table holds it (issue 14):
 * after the outbox is empty, the LATEST value per key of the calendar and touch-point
 * topics is compared with calendar_events and touchpoint_counts.
 *  - calendar: the fields a subscriber sees (the outputs are published only for those,
 *    src/consumers/sinks/calendar.ts visibleOf), for every publishable row (starts_at set);
 *  - touch-points: the count of every (tenant, user, day, channel) row.
 * lost = a row whose output never arrived; duplicated = an output key without a row;
 * wrong = the latest output differs from the row.
 */
import { randomUUID } from 'node:crypto';
import type { IsolatedStack } from '../../test/helpers/isolated-stack.js';
import { recordKey, touchPointKey } from '../../src/kafka/index.js';
import { sleep } from './stack.js';

export interface OutputComparison {
  lost: number;
  duplicated: number;
  wrong: number;
  /** Keys compared (calendar + touch-points). */
  checked: number;
  /** Outbox rows left when the comparison gave up waiting (0 when drained). */
  outboxLeft: number;
  examples: string[];
}

async function waitForEmptyOutbox(stack: IsolatedStack, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await stack.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    if (rows[0]!.n === 0 || Date.now() > deadline) return rows[0]!.n;
    await sleep(250);
  }
}

/**
 * Until every partition of the topic has all its replicas in sync (bounded). A leader
 * elected after a broker failure may report a high watermark below the one its
 * predecessor acknowledged until its followers catch up (the high watermark is only
 * advanced by follower fetches; KIP-101, KIP-966), so offsets read right after the
 * broker-failures drill's restarts could end the read before acknowledged records.
 */
async function waitForInSyncReplicas(stack: IsolatedStack, topic: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { topics } = await stack.admin.fetchTopicMetadata({ topics: [topic] });
    const lagging = topics.flatMap((t) => t.partitions).filter((p) => p.leader < 0 || p.isr.length < p.replicas.length);
    if (lagging.length === 0 || Date.now() > deadline) return;
    await sleep(250);
  }
}

/** The latest value per key of a topic, up to its high watermarks (null: a tombstone). */
async function latestPerKey(stack: IsolatedStack, topic: string): Promise<Map<string, Buffer | null>> {
  await waitForInSyncReplicas(stack, topic);
  // And the high watermarks settled: the same twice in a row (the followers' next fetch moves them).
  let offsets = await stack.admin.fetchTopicOffsets(topic);
  for (let tries = 0; tries < 20; tries++) {
    await sleep(500);
    const again = await stack.admin.fetchTopicOffsets(topic);
    const same = again.every((o) => offsets.find((p) => p.partition === o.partition)?.high === o.high);
    offsets = again;
    if (same) break;
  }
  const remaining = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  const latest = new Map<string, Buffer | null>();
  if (remaining.size === 0) return latest;
  const groupId = `drill-outputs-${randomUUID()}`;
  const consumer = stack.kafkajs.consumer({ groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch, heartbeat }) => {
          const end = remaining.get(batch.partition);
          if (end === undefined) return;
          for (const m of batch.messages) if (BigInt(m.offset) < end && m.key !== null) latest.set(m.key.toString('utf8'), m.value);
          await heartbeat();
          if (BigInt(batch.lastOffset()) + 1n >= end) remaining.delete(batch.partition);
          if (remaining.size === 0) resolve();
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
    await stack.admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return latest;
}

const ms = (v: unknown): number | null => (v === null || v === undefined ? null : v instanceof Date ? v.getTime() : Number(v));

export async function compareOutputs(stack: IsolatedStack, options: { tenants?: readonly string[]; outboxTimeoutMs?: number } = {}): Promise<OutputComparison> {
  const out: OutputComparison = { lost: 0, duplicated: 0, wrong: 0, checked: 0, outboxLeft: 0, examples: [] };
  const note = (s: string) => void (out.examples.length < 5 && out.examples.push(s));
  out.outboxLeft = await waitForEmptyOutbox(stack, options.outboxTimeoutMs ?? 60_000);
  const mine = (tenantId: string) => options.tenants === undefined || options.tenants.includes(tenantId);

  const { rows } = await stack.pool.query<Record<string, unknown>>('SELECT * FROM calendar_events WHERE starts_at IS NOT NULL');
  const calendarRows = rows.filter((r) => mine(String(r.tenant_id)));
  const calendar = await latestPerKey(stack, stack.topics.calendar);
  const visible = (v: Record<string, unknown>) => JSON.stringify([v.user_id, v.acme_owner_user_id, v.title, ms(v.starts_at), ms(v.ends_at), v.time_zone, v.location, v.status, v.customer_name, v.customer_email, v.customer_phone]);
  const seen = new Set<string>();
  for (const r of calendarRows) {
    const key = recordKey(String(r.tenant_id), String(r.acme_appointment_id));
    seen.add(key);
    out.checked++;
    const bytes = calendar.get(key);
    if (bytes === undefined || bytes === null) {
      out.lost++;
      note(`no calendar output for ${key}`);
      continue;
    }
    const value = (await stack.codec.decode(bytes)).value as Record<string, unknown>;
    if (visible(value) !== visible(r)) {
      out.wrong++;
      note(`calendar output ${key}: ${visible(value)} vs table ${visible(r)}`);
    }
  }
  for (const [key, bytes] of calendar) {
    if (seen.has(key) || bytes === null || !mine(key.split(':')[0]!)) continue;
    out.duplicated++;
    note(`calendar output without a publishable row: ${key}`);
  }

  const { rows: counts } = await stack.pool.query<{ tenant_id: string; acme_user_id: string; day: string; channel: string; count: number }>(
    "SELECT tenant_id, acme_user_id, to_char(day, 'YYYY-MM-DD') AS day, channel, count FROM touchpoint_counts",
  );
  const touchpoints = await latestPerKey(stack, stack.topics.touchpoints);
  const seenTp = new Set<string>();
  for (const r of counts.filter((c) => mine(c.tenant_id))) {
    const key = touchPointKey(r.tenant_id, r.acme_user_id, r.day, r.channel);
    seenTp.add(key);
    out.checked++;
    const bytes = touchpoints.get(key);
    if (bytes === undefined || bytes === null) {
      out.lost++;
      note(`no touch-point output for ${key} (count ${r.count})`);
      continue;
    }
    const value = (await stack.codec.decode(bytes)).value as { count: number };
    if (Number(value.count) !== Number(r.count)) {
      out.wrong++;
      note(`touch-point output ${key}: ${value.count} vs table ${r.count}`);
    }
  }
  for (const [key, bytes] of touchpoints) {
    if (seenTp.has(key) || bytes === null || !mine(key.split(':')[0]!)) continue;
    out.duplicated++;
    note(`touch-point output without a row: ${key}`);
  }
  return out;
}

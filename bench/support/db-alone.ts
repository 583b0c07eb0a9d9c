/**
 * The database writes alone: the same sink SQL (upsertCalendarRows,
 * applyActivityFacts) on the same events, grouped as the runner groups them (one
 * transaction and one sink call per batch, all its tenants together, 3 batches at a
 * time like partitionsConsumedConcurrently, a key always in the same lane) — no
 * Kafka, no decoding, no flow. The pure transforms run before the clock starts.
 */
import { withTransaction } from '../../src/db/index.js';
import { upsertCalendarRows } from '../../src/consumers/sinks/calendar.js';
import { applyActivityFacts } from '../../src/consumers/sinks/touchpoints.js';
import { DEFAULT_SETTINGS } from '../../src/tenants/types.js';
import { customerOf, toCalendarRow, type CalendarRow } from '../../src/transforms/calendar.js';
import { pickTimeZone, toActivityFact, type ActivityFact } from '../../src/transforms/touchpoints.js';
import type { Dataset } from './dataset.js';
import type { FlowName } from './runner-drain.js';
import { resetFlowState } from './seed.js';
import type { IsolatedStack } from './stack.js';
import { startMeter } from './stats.js';

export interface DbAloneResult {
  events: number;
  seconds: number;
  eventsPerSec: number;
  cpuUsPerEvent: number;
}

type Item = { key: string; tenantId: string; row: CalendarRow | ActivityFact };

const at = (tenantId: string, id: string) => `${tenantId}\u0000${id}`;

function calendarItems(data: Dataset): Item[] {
  const users = new Map(data.users.map((u) => [at(u.tenantId, u.acmeUserId), u]));
  const contacts = new Map(data.contacts.map((c) => [at(c.tenantId, c.acmeId), c]));
  return data.appointments.flatMap(({ key, value }) => {
    const ownerEmail = value.owner_user_id === null ? null : (users.get(at(value.tenant_id, value.owner_user_id))?.email ?? null);
    const contact = value.contact_id === null ? undefined : contacts.get(at(value.tenant_id, value.contact_id));
    const result = toCalendarRow(value, { settings: DEFAULT_SETTINGS, ownerEmail, customer: customerOf(contact) });
    return result.ok ? [{ key, tenantId: value.tenant_id, row: result.row }] : [];
  });
}

function touchpointItems(data: Dataset): Item[] {
  const users = new Map(data.users.map((u) => [at(u.tenantId, u.acmeUserId), u]));
  return data.activities.map(({ key, value }) => {
    const zone = value.user_id === null ? undefined : users.get(at(value.tenant_id, value.user_id))?.timeZone;
    return { key, tenantId: value.tenant_id, row: toActivityFact(value, { settings: DEFAULT_SETTINGS, timeZone: pickTimeZone(zone, DEFAULT_SETTINGS.defaultTimeZone) }) };
  });
}

function laneOf(key: string, lanes: number): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return Math.abs(h) % lanes;
}

/** The transforms are slow enough (time-zone validation) to be worth computing once per dataset. */
const prepared = new WeakMap<Dataset, Map<FlowName, Item[]>>();

function itemsOf(data: Dataset, flow: FlowName): Item[] {
  const byFlow = prepared.get(data) ?? new Map<FlowName, Item[]>();
  prepared.set(data, byFlow);
  let items = byFlow.get(flow);
  if (items === undefined) byFlow.set(flow, (items = flow === 'calendar' ? calendarItems(data) : touchpointItems(data)));
  return items;
}

export async function drainDatabaseAlone(stack: IsolatedStack, data: Dataset, flow: FlowName, options: { batchSize: number; lanes?: number; limit?: number }): Promise<DbAloneResult> {
  await resetFlowState(stack);
  const all = itemsOf(data, flow);
  const items = all.slice(0, options.limit ?? all.length);
  const laneCount = options.lanes ?? 3;
  const lanes: Item[][] = Array.from({ length: laneCount }, () => []);
  for (const item of items) lanes[laneOf(item.key, laneCount)]!.push(item);
  const batchSize = Math.max(1, Math.round(options.batchSize));
  const meter = startMeter();
  await Promise.all(
    lanes.map(async (lane) => {
      for (let i = 0; i < lane.length; i += batchSize) {
        const group = lane.slice(i, i + batchSize).map((it) => it.row);
        await withTransaction(stack.pool, async (db) => {
          if (flow === 'calendar') await upsertCalendarRows(db, group as CalendarRow[]);
          else await applyActivityFacts(db, group as ActivityFact[]);
        });
      }
    }),
  );
  const { wallMs, cpuUs } = meter.stop();
  // Events, not rows: the bad appointments (no start) are counted as the runner counts them, handled.
  const events = flow === 'calendar' ? Math.min(options.limit ?? Infinity, data.appointments.length) : items.length;
  return { events, seconds: wallMs / 1000, eventsPerSec: events / (wallMs / 1000), cpuUsPerEvent: cpuUs / events };
}

/**
 * Our PostgreSQL against the generator's truth (computed by the sandbox, independently
 * of our code): calendar rows one to one, touch-point counts per user/day/channel.
 * lost = appointments without a row + touch-points counted too few times;
 * duplicated = rows the truth does not have + touch-points counted too many times;
 * wrong = rows whose fields differ from the truth.
 */
import type pg from 'pg';
import type { Truth } from '../../sandbox/src/index.js';

export interface Comparison {
  lost: number;
  duplicated: number;
  wrong: number;
  calendarRows: number;
  touchPoints: number;
  examples: string[];
}

/** `tenants`: only these tenants' rows (a drill with other tenants beside the generator's, such as the fuzz drill's). */
export async function compareWithTruth(pool: pg.Pool, truth: Truth, tenants?: readonly string[]): Promise<Comparison> {
  const only = tenants === undefined ? '' : 'WHERE tenant_id = ANY($1)';
  const params = tenants === undefined ? [] : [tenants];
  const { rows } = await pool.query<CalendarRow>(
    `SELECT tenant_id, acme_appointment_id, acme_version, user_id, title, starts_at, ends_at, time_zone, status, customer_name, customer_email, customer_phone
       FROM calendar_events ${only}`, params,
  );
  const { rows: counts } = await pool.query<CountRow>(
    `SELECT tenant_id, acme_user_id, to_char(day, 'YYYY-MM-DD') AS day, channel, count FROM touchpoint_counts WHERE count > 0 ${only.replace('WHERE', 'AND')}`, params,
  );
  return compareRows(rows, counts, truth);
}

export interface CalendarRow {
  tenant_id: string; acme_appointment_id: string; acme_version: string | number; user_id: string; title: string; starts_at: Date; ends_at: Date;
  time_zone: string; status: string; customer_name: string | null; customer_email: string | null; customer_phone: string | null;
}
export interface CountRow { tenant_id: string; acme_user_id: string; day: string; channel: string; count: number | string }

/** The comparison itself, on rows as PostgreSQL returns them. */
export function compareRows(rows: readonly CalendarRow[], counts: readonly CountRow[], truth: Pick<Truth, 'calendar_events' | 'touch_points'>): Comparison {
  const out: Comparison = { lost: 0, duplicated: 0, wrong: 0, calendarRows: 0, touchPoints: 0, examples: [] };
  const note = (s: string) => void (out.examples.length < 5 && out.examples.push(s));
  out.calendarRows = rows.length;
  const ours = new Map<string, CalendarRow[]>();
  for (const r of rows) {
    const key = `${r.tenant_id}/${r.acme_appointment_id}`;
    ours.set(key, [...(ours.get(key) ?? []), r]);
  }
  const expectedKeys = new Set<string>();
  for (const t of truth.calendar_events) {
    const key = `${t.account_id}/${t.appointment_id}`;
    expectedKeys.add(key);
    const found = ours.get(key);
    if (!found) {
      out.lost++;
      note(`missing calendar row ${key}`);
      continue;
    }
    out.duplicated += found.length - 1;
    const row = found[0]!;
    const actual = {
      version: Number(row.acme_version), user: row.user_id, title: row.title, starts: row.starts_at.toISOString(), ends: row.ends_at.toISOString(),
      zone: row.time_zone, status: row.status, name: row.customer_name, email: row.customer_email, phone: row.customer_phone,
    };
    const expected = {
      version: t.version, user: t.owner_email, title: t.title, starts: new Date(t.starts_at).toISOString(), ends: new Date(t.ends_at).toISOString(),
      zone: t.time_zone, status: t.status === 'active' ? 'ACTIVE' : 'CANCELLED', name: t.contact.name, email: t.contact.email, phone: t.contact.phone,
    };
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      out.wrong++;
      note(`wrong ${key}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
    }
  }
  for (const [key, found] of ours) {
    if (!expectedKeys.has(key)) {
      out.duplicated += found.length;
      note(`calendar row not in the truth ${key}`);
    }
  }

  const have = new Map(counts.map((r) => [`${r.tenant_id}/${r.acme_user_id}/${r.day}/${r.channel}`, Number(r.count)]));
  const want = new Map(truth.touch_points.map((t) => [`${t.account_id}/${t.user_id}/${t.day}/${t.channel.toUpperCase()}`, t.count]));
  for (const [key, n] of want) {
    out.touchPoints += n;
    const got = have.get(key) ?? 0;
    if (got < n) {
      out.lost += n - got;
      note(`touch-points ${key}: ${got} < ${n}`);
    }
    if (got > n) {
      out.duplicated += got - n;
      note(`touch-points ${key}: ${got} > ${n}`);
    }
  }
  for (const [key, got] of have) {
    if (!want.has(key)) {
      out.duplicated += got;
      note(`touch-points ${key}: ${got}, not in the truth`);
    }
  }
  return out;
}

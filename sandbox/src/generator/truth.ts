// Expected outcome of a generator run, derived from the generator's shadow model.

import type { BadRecord } from '../types.js';
import { localDay } from './time-zones.js';
import type { World } from './world.js';

export interface TruthCalendarEvent {
  account_id: string;
  appointment_id: string;
  title: string;
  starts_at: string;
  ends_at: string;
  time_zone: string;
  status: 'active' | 'cancelled';
  owner_user_id: string;
  owner_email: string;
  contact_id: string;
  contact: { name: string; phone: string | null; email: string | null };
  version: number;
}

export type TouchPointChannel = 'email' | 'phone';

export interface TruthTouchPoint {
  account_id: string;
  user_id: string;
  user_email: string;
  /** YYYY-MM-DD in the user's time zone. */
  day: string;
  channel: TouchPointChannel;
  count: number;
}

export interface Truth {
  seed: number;
  accounts: Array<{ account_id: string; name: string; users: Array<{ id: string; name: string; email: string; time_zone: string }> }>;
  calendar_events: TruthCalendarEvent[];
  touch_points: TruthTouchPoint[];
  bad_records: BadRecord[];
  stats: { events: number; by_action: Record<string, number> };
}

const CHANNEL: Partial<Record<string, TouchPointChannel>> = { email: 'email', call: 'phone' };

/**
 * Bad records (missing start, a contact Acme does not know) have no calendar row and count
 * nowhere: the integration's rule (docs/OPERATIONS.md, "Unknown contacts") sends them to
 * its DLQ, and drills/support/truth.ts compares against exactly this.
 */
export function calendarEvents(world: World): TruthCalendarEvent[] {
  const out: TruthCalendarEvent[] = [];
  for (const acc of world.accounts) {
    const users = new Map(acc.users.map((u) => [u.id, u]));
    for (const apt of acc.appointments.values()) {
      if (apt.bad) continue;
      const contact = acc.contacts.get(apt.contact_id);
      const owner = users.get(apt.owner_user_id);
      if (!contact || !owner) continue;
      out.push({
        account_id: acc.id,
        appointment_id: apt.id,
        title: apt.title,
        starts_at: apt.starts_at,
        ends_at: apt.ends_at,
        time_zone: apt.time_zone,
        status: apt.deleted || apt.status === 'cancelled' ? 'cancelled' : 'active',
        owner_user_id: owner.id,
        owner_email: owner.email,
        contact_id: contact.id,
        contact: { name: `${contact.first_name} ${contact.last_name}`, phone: contact.phone, email: contact.email },
        version: apt.version,
      });
    }
  }
  return out.sort((a, b) => (a.account_id + a.appointment_id < b.account_id + b.appointment_id ? -1 : 1));
}

export function touchPoints(world: World): TruthTouchPoint[] {
  const counts = new Map<string, TruthTouchPoint>();
  for (const acc of world.accounts) {
    const users = new Map(acc.users.map((u) => [u.id, u]));
    for (const act of acc.activities.values()) {
      const channel = CHANNEL[act.type];
      const user = users.get(act.user_id);
      if (act.bad || act.deleted || !channel || !user) continue;
      const day = localDay(act.occurred_at, user.time_zone);
      const key = [acc.id, user.id, day, channel].join('|');
      const tp = counts.get(key) ?? { account_id: acc.id, user_id: user.id, user_email: user.email, day, channel, count: 0 };
      tp.count += 1;
      counts.set(key, tp);
    }
  }
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
}

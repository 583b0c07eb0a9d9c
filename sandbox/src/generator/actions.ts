// One generator action = one change made through the store (so one webhook event),
// mirrored into the shadow model with the values the generator intended.

import type { Rng } from '../prng.js';
import type { Store } from '../store.js';
import type { ActivityType, User } from '../types.js';
import { COMPANIES, FIRST_NAMES, LAST_NAMES, LOCATIONS, MEETING_TITLES, SUBJECTS } from './pools.js';
import { addDays, zonedToUtc } from './time-zones.js';
import { liveActivities, liveAppointments, liveContacts, type ShadowAccount, type ShadowContact } from './world.js';

export interface ActionContext {
  store: Store;
  rng: Rng;
  account: ShadowAccount;
  startDate: string;
  days: number;
}

export type ActionName =
  | 'book_appointment'
  | 'move_appointment'
  | 'cancel_appointment'
  | 'complete_appointment'
  | 'reassign_appointment'
  | 'delete_appointment'
  | 'log_activity'
  | 'edit_activity'
  | 'delete_activity'
  | 'edit_contact'
  | 'create_contact';

/** Relative frequency of each action; those without a target fall back to booking or logging. */
export const ACTION_WEIGHTS: Array<[ActionName, number]> = [
  ['book_appointment', 18],
  ['move_appointment', 10],
  ['cancel_appointment', 4],
  ['complete_appointment', 3],
  ['reassign_appointment', 2],
  ['delete_appointment', 3],
  ['log_activity', 34],
  ['edit_activity', 9],
  ['delete_activity', 4],
  ['edit_contact', 9],
  ['create_contact', 4],
];

export function pickAction(rng: Rng): ActionName {
  const total = ACTION_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [name, w] of ACTION_WEIGHTS) {
    r -= w;
    if (r < 0) return name;
  }
  return 'log_activity';
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A local time: mostly office hours, sometimes late evening so local and UTC days differ. */
function localInstant(ctx: ActionContext, tz: string, dayOffset: number): number {
  const { rng } = ctx;
  const day = addDays(ctx.startDate, dayOffset);
  const late = rng.chance(0.15);
  const hour = late ? rng.int(20, 23) : rng.int(8, 17);
  const minute = rng.pick([0, 15, 30, 45, 5, 50]);
  return zonedToUtc(day, hour, minute, tz);
}

export function newContactFields(rng: Rng): Omit<ShadowContact, 'id' | 'version' | 'deleted'> {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const company = rng.pick(COMPANIES);
  const domain = company.toLowerCase().replace(/[^a-z]/g, '');
  return {
    first_name: first,
    last_name: last,
    email: rng.chance(0.9) ? `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '') + `@${domain}.example` : null,
    phone: rng.chance(0.85) ? `+1 555 ${String(rng.int(0, 9999)).padStart(4, '0')}` : null,
    company,
  };
}

const userOf = (ctx: ActionContext, id: string): User => ctx.account.users.find((u) => u.id === id) ?? (ctx.account.users[0] as User);

function createContact(ctx: ActionContext): void {
  const fields = newContactFields(ctx.rng);
  const c = ctx.store.create('contact', ctx.account.id, fields);
  ctx.account.contacts.set(c.id, { ...fields, id: c.id, version: 1, deleted: false });
}

function bookAppointment(ctx: ActionContext): void {
  const { rng, account } = ctx;
  const contacts = liveContacts(account);
  if (contacts.length === 0) return createContact(ctx);
  const owner = rng.pick(account.users);
  const contact = rng.pick(contacts);
  const start = localInstant(ctx, owner.time_zone, rng.int(0, ctx.days + 6));
  const fields = {
    owner_user_id: owner.id,
    contact_id: contact.id,
    title: `${rng.pick(MEETING_TITLES)} with ${contact.company ?? contact.last_name}`,
    starts_at: iso(start),
    ends_at: iso(start + rng.pick([30, 45, 60, 90]) * 60_000),
    time_zone: owner.time_zone,
    location: rng.pick(LOCATIONS),
    status: 'scheduled' as const,
  };
  const apt = ctx.store.create('appointment', account.id, fields);
  account.appointments.set(apt.id, { ...fields, id: apt.id, version: 1, deleted: false, bad: ctx.store.isBad(apt.id) });
}

function logActivity(ctx: ActionContext): void {
  const { rng, account } = ctx;
  const contacts = liveContacts(account);
  if (contacts.length === 0) return createContact(ctx);
  const user = rng.pick(account.users);
  const type = rng.pick<ActivityType>(['email', 'email', 'email', 'email', 'call', 'call', 'call', 'meeting', 'note']);
  const fields = {
    type,
    direction: rng.pick(['inbound', 'outbound'] as const),
    user_id: user.id,
    contact_id: rng.pick(contacts).id,
    subject: rng.pick(SUBJECTS[type]),
    occurred_at: iso(localInstant(ctx, user.time_zone, rng.int(0, ctx.days - 1))),
    duration_seconds: type === 'call' ? rng.int(30, 3600) : null,
  };
  const act = ctx.store.create('activity', account.id, fields);
  account.activities.set(act.id, { ...fields, id: act.id, version: 1, deleted: false, bad: ctx.store.isBad(act.id) });
}

type Mutator = (ctx: ActionContext) => boolean;

function updateAppointment(ctx: ActionContext, pred: (s: string) => boolean, change: (ctx: ActionContext, id: string) => Record<string, unknown>): boolean {
  const targets = liveAppointments(ctx.account, (a) => pred(a.status));
  if (targets.length === 0) return false;
  const apt = ctx.rng.pick(targets);
  const patch = change(ctx, apt.id);
  ctx.store.update('appointment', ctx.account.id, apt.id, patch);
  Object.assign(apt, patch, { version: apt.version + 1 });
  return true;
}

const scheduled = (s: string): boolean => s === 'scheduled';

const MUTATORS: Partial<Record<ActionName, Mutator>> = {
  move_appointment: (ctx) =>
    updateAppointment(ctx, scheduled, (c, id) => {
      const apt = c.account.appointments.get(id)!;
      const duration = Date.parse(apt.ends_at) - Date.parse(apt.starts_at);
      const start = localInstant(c, userOf(c, apt.owner_user_id).time_zone, c.rng.int(0, c.days + 6));
      return { starts_at: iso(start), ends_at: iso(start + duration) };
    }),
  cancel_appointment: (ctx) => updateAppointment(ctx, scheduled, () => ({ status: 'cancelled' })),
  complete_appointment: (ctx) => updateAppointment(ctx, scheduled, () => ({ status: 'completed' })),
  reassign_appointment: (ctx) =>
    ctx.account.users.length > 1 &&
    updateAppointment(ctx, scheduled, (c, id) => ({
      owner_user_id: c.rng.pick(c.account.users.filter((u) => u.id !== c.account.appointments.get(id)!.owner_user_id)).id,
    })),
  delete_appointment: (ctx) => {
    const targets = liveAppointments(ctx.account);
    if (targets.length === 0) return false;
    const apt = ctx.rng.pick(targets);
    ctx.store.softDelete('appointment', ctx.account.id, apt.id);
    Object.assign(apt, { deleted: true, version: apt.version + 1 });
    return true;
  },
  edit_activity: (ctx) => {
    const targets = liveActivities(ctx.account);
    if (targets.length === 0) return false;
    const act = ctx.rng.pick(targets);
    const patch = activityEdit(ctx, act.type, act.occurred_at, act.user_id);
    ctx.store.update('activity', ctx.account.id, act.id, patch);
    Object.assign(act, patch, { version: act.version + 1 });
    return true;
  },
  delete_activity: (ctx) => {
    const targets = liveActivities(ctx.account);
    if (targets.length === 0) return false;
    const act = ctx.rng.pick(targets);
    ctx.store.softDelete('activity', ctx.account.id, act.id);
    Object.assign(act, { deleted: true, version: act.version + 1 });
    return true;
  },
  edit_contact: (ctx) => {
    const targets = liveContacts(ctx.account);
    if (targets.length === 0) return false;
    const contact = ctx.rng.pick(targets);
    const fresh = newContactFields(ctx.rng);
    const field = ctx.rng.pick(['name', 'phone', 'email'] as const);
    const patch = field === 'name' ? { first_name: fresh.first_name, last_name: fresh.last_name } : field === 'phone' ? { phone: fresh.phone } : { email: fresh.email };
    ctx.store.update('contact', ctx.account.id, contact.id, patch);
    Object.assign(contact, patch, { version: contact.version + 1 });
    return true;
  },
};

/** Change the type, the user, or the time (sometimes onto another local day). */
function activityEdit(ctx: ActionContext, type: ActivityType, occurredAt: string, userId: string): Record<string, unknown> {
  const { rng, account } = ctx;
  const what = rng.pick(['type', 'user', 'time', 'subject'] as const);
  if (what === 'type') {
    const next = rng.pick((['email', 'call', 'meeting', 'note'] as const).filter((t) => t !== type));
    return { type: next, duration_seconds: next === 'call' ? rng.int(30, 1800) : null, subject: rng.pick(SUBJECTS[next]) };
  }
  if (what === 'user' && account.users.length > 1) return { user_id: rng.pick(account.users.filter((u) => u.id !== userId)).id };
  if (what === 'subject') return { subject: `${rng.pick(SUBJECTS[type])} (edited)` };
  const shiftMinutes = rng.pick([-1, 1]) * rng.int(30, 36 * 60);
  return { occurred_at: iso(Date.parse(occurredAt) + shiftMinutes * 60_000) };
}

export function performAction(ctx: ActionContext, name: ActionName): ActionName {
  if (name === 'book_appointment') return bookAppointment(ctx), name;
  if (name === 'log_activity') return logActivity(ctx), name;
  if (name === 'create_contact') return createContact(ctx), name;
  if (MUTATORS[name]?.(ctx)) return name;
  // Nothing to act on yet: a fresh booking keeps the budget meaningful.
  bookAppointment(ctx);
  return 'book_appointment';
}

// The generator's own model of what every record should look like in the end. Truth is
// computed from this model, not read back from the store, so comparing the two (or the
// webhooks) really checks something.

import type { Activity, Appointment, Contact, User } from '../types.js';

export type ShadowContact = Pick<Contact, 'id' | 'first_name' | 'last_name' | 'email' | 'phone' | 'company' | 'version'> & { deleted: boolean };
export type ShadowAppointment = Pick<Appointment, 'id' | 'owner_user_id' | 'contact_id' | 'title' | 'ends_at' | 'time_zone' | 'location' | 'status' | 'version'> & {
  starts_at: string;
  deleted: boolean;
  bad: boolean;
};
export type ShadowActivity = Pick<Activity, 'id' | 'type' | 'direction' | 'user_id' | 'contact_id' | 'subject' | 'occurred_at' | 'duration_seconds' | 'version'> & {
  deleted: boolean;
  bad: boolean;
};

export interface ShadowAccount {
  id: string;
  name: string;
  users: User[];
  contacts: Map<string, ShadowContact>;
  appointments: Map<string, ShadowAppointment>;
  activities: Map<string, ShadowActivity>;
}

export interface World {
  accounts: ShadowAccount[];
}

export function liveAppointments(a: ShadowAccount, pred: (x: ShadowAppointment) => boolean = () => true): ShadowAppointment[] {
  return [...a.appointments.values()].filter((x) => !x.deleted && !x.bad && pred(x));
}

export function liveActivities(a: ShadowAccount): ShadowActivity[] {
  return [...a.activities.values()].filter((x) => !x.deleted && !x.bad);
}

export function liveContacts(a: ShadowAccount): ShadowContact[] {
  return [...a.contacts.values()].filter((x) => !x.deleted);
}

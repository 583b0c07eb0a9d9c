// Domain types shared by the store, the HTTP layer, the dispatcher and the generator.
// Field names follow the wire format (snake_case) so records can be returned as-is.

export type ObjectType = 'user' | 'contact' | 'appointment' | 'activity';
export type MutableObjectType = Exclude<ObjectType, 'user'>;

export interface User {
  id: string;
  name: string;
  email: string;
  time_zone: string;
  created_at: string;
  updated_at: string;
}

export interface Contact {
  id: string;
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export type AppointmentStatus = 'scheduled' | 'cancelled' | 'completed';

export interface Appointment {
  id: string;
  owner_user_id: string;
  contact_id: string;
  title: string;
  // Null only for records corrupted by the bad-data fault; healthy data always has it.
  starts_at: string | null;
  ends_at: string;
  time_zone: string;
  location: string | null;
  status: AppointmentStatus;
  version: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export type ActivityType = 'email' | 'call' | 'meeting' | 'note';
export type ActivityDirection = 'inbound' | 'outbound';

export interface Activity {
  id: string;
  type: ActivityType;
  direction: ActivityDirection;
  user_id: string;
  contact_id: string;
  subject: string;
  occurred_at: string;
  duration_seconds: number | null;
  version: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface ObjectByType {
  user: User;
  contact: Contact;
  appointment: Appointment;
  activity: Activity;
}

export type AnyObject = ObjectByType[ObjectType];

export type PayloadMode = 'full' | 'thin';

export interface RateLimitConfig {
  /** Bucket size: how many requests may burst. */
  capacity: number;
  /** Tokens added back per second. */
  refillPerSecond: number;
}

export interface Account {
  id: string;
  name: string;
  webhook_payload: PayloadMode;
  /** Wire shape of a per-account override of the sandbox-wide rate limit. */
  rate_limit: { capacity: number; refill_per_second: number } | null;
  created_at: string;
}

export type ChangeKind = 'created' | 'updated' | 'deleted';

/** What the store reports after each change; the dispatcher turns it into webhook events. */
export interface ChangeEvent {
  accountId: string;
  objectType: MutableObjectType;
  kind: ChangeKind;
  object: ObjectByType[MutableObjectType];
  occurredAt: string;
}

export type BadDataKind = 'missing_starts_at' | 'unknown_contact' | 'malformed_webhook';

export interface BadRecord {
  kind: BadDataKind;
  account_id: string;
  object_type: MutableObjectType | 'webhook';
  /** Record id, or the event id for malformed webhooks. */
  id: string;
  detail: string;
}

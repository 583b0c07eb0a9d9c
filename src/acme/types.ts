/**
 * Acme's REST objects and webhook envelope, as its contract describes them
 * (schemas/acme-openapi.yaml). The integration knows Acme only through these and a
 * base URL. Timestamps are ISO-8601 strings on the wire.
 */
export type AcmeObjectType = 'user' | 'contact' | 'appointment' | 'activity';
/** The REST collection of each object type: GET /v1/<collection>, /v1/<collection>/{id}. */
export const ACME_COLLECTIONS: Readonly<Record<AcmeObjectType, string>> = {
  user: 'users',
  contact: 'contacts',
  appointment: 'appointments',
  activity: 'activities',
};

export interface AcmeUser {
  id: string;
  name: string;
  email: string;
  time_zone: string;
  created_at: string;
  updated_at: string;
}

interface Versioned {
  id: string;
  version: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export interface AcmeContact extends Versioned {
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
}

export interface AcmeAppointment extends Versioned {
  owner_user_id: string;
  contact_id: string;
  title: string;
  starts_at: string;
  ends_at: string;
  time_zone: string;
  location: string | null;
  status: 'scheduled' | 'cancelled' | 'completed';
}

export interface AcmeActivity extends Versioned {
  type: 'email' | 'call' | 'meeting' | 'note' | string;
  direction: 'inbound' | 'outbound';
  user_id: string;
  contact_id: string;
  subject: string;
  occurred_at: string;
  duration_seconds: number | null;
}

export interface AcmeObjects {
  user: AcmeUser;
  contact: AcmeContact;
  appointment: AcmeAppointment;
  activity: AcmeActivity;
}

export interface AcmePage<T> {
  data: T[];
  next_cursor: string | null;
}

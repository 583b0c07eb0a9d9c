/**
 * The decoded Avro events the edge publishes (schemas/avro), as TypeScript types.
 * Timestamps are epoch milliseconds (Avro timestamp-millis read as long).
 */
export type Operation = 'UPSERT' | 'DELETE';
export type Source = 'WEBHOOK' | 'POLL' | 'BACKFILL' | 'RECONCILE' | 'REPLAY' | 'UNKNOWN';

export interface EventEnvelope {
  event_id: string;
  tenant_id: string;
  acme_id: string;
  acme_version: number;
  acme_updated_at: number;
  operation: Operation;
  source: Source;
  received_at: number;
  correlation_id: string | null;
}

export interface AcmeContactEvent extends EventEnvelope {
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
}

export interface AcmeAppointmentEvent extends EventEnvelope {
  owner_user_id: string | null;
  contact_id: string | null;
  title: string | null;
  starts_at: number | null;
  ends_at: number | null;
  time_zone: string | null;
  location: string | null;
  status: 'SCHEDULED' | 'CANCELLED' | 'COMPLETED' | 'UNKNOWN';
}

export interface AcmeActivityEvent extends EventEnvelope {
  activity_type: string | null;
  direction: string | null;
  user_id: string | null;
  contact_id: string | null;
  subject: string | null;
  occurred_at: number | null;
  duration_seconds: number | null;
}

/**
 * The validation contract applied to decoded events (what the consumers read from the
 * input topics): the same rules as at the edge (./index.ts), on the Avro values —
 * strings, IDs, instants in epoch ms, durations. The edge already refused what breaks
 * them; these checks hold for records that reached a topic another way (a replay of an
 * old record, an older producer, a hand-made message), before anything meets PostgreSQL.
 */
import type { ValidationError } from '../errors/index.js';
import type { AcmeActivityEvent, AcmeAppointmentEvent, AcmeContactEvent, EventEnvelope } from '../transforms/types.js';
import { LIMITS, checkDuration, checkEpochMs, checkId, checkOptionalId, checkText, createChecker } from './index.js';

function checkerFor(type: string, e: Readonly<EventEnvelope>) {
  const c = createChecker({ tenantId: e.tenant_id, acmeId: e.acme_id, acmeVersion: e.acme_version });
  c.take(checkId(e.acme_id, `${type}.id`), '');
  c.take(checkEpochMs(e.acme_updated_at, `${type}.updated_at`), null);
  return c;
}

export function appointmentViolation(e: Readonly<AcmeAppointmentEvent>): ValidationError | undefined {
  const c = checkerFor('appointment', e);
  c.take(checkOptionalId(e.owner_user_id, 'appointment.owner_user_id'), null);
  c.take(checkOptionalId(e.contact_id, 'appointment.contact_id'), null);
  c.take(checkText(e.title, 'appointment.title', { max: LIMITS.title, multiline: true }), null);
  c.take(checkText(e.location, 'appointment.location', { max: LIMITS.location, multiline: true }), null);
  c.take(checkText(e.time_zone, 'appointment.time_zone', { max: LIMITS.timeZone }), null);
  c.take(checkEpochMs(e.starts_at, 'appointment.starts_at'), null);
  c.take(checkEpochMs(e.ends_at, 'appointment.ends_at'), null);
  return c.error();
}

export function contactViolation(e: Readonly<AcmeContactEvent>): ValidationError | undefined {
  const c = checkerFor('contact', e);
  c.take(checkText(e.first_name, 'contact.first_name', { max: LIMITS.name }), null);
  c.take(checkText(e.last_name, 'contact.last_name', { max: LIMITS.name }), null);
  c.take(checkText(e.email, 'contact.email', { max: LIMITS.email }), null);
  c.take(checkText(e.phone, 'contact.phone', { max: LIMITS.phone }), null);
  c.take(checkText(e.company, 'contact.company', { max: LIMITS.company }), null);
  return c.error();
}

export function activityViolation(e: Readonly<AcmeActivityEvent>): ValidationError | undefined {
  const c = checkerFor('activity', e);
  c.take(checkText(e.activity_type, 'activity.type', { max: LIMITS.code }), null);
  c.take(checkText(e.direction, 'activity.direction', { max: LIMITS.code }), null);
  c.take(checkOptionalId(e.user_id, 'activity.user_id'), null);
  c.take(checkOptionalId(e.contact_id, 'activity.contact_id'), null);
  c.take(checkText(e.subject, 'activity.subject', { max: LIMITS.subject, multiline: true }), null);
  c.take(checkEpochMs(e.occurred_at, 'activity.occurred_at'), null);
  c.take(checkDuration(e.duration_seconds, 'activity.duration_seconds'), null);
  return c.error();
}

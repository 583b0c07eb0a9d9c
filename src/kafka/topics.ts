/**
 * Every topic in one place: name, partitions, whether it is a table (compacted),
 * its value schema, and how its key is built.
 *
 * Keys are UTF-8 strings `tenant:acmeId` so every version of one Acme record lands
 * on one partition and stays ordered; outputs keyed the same way compact to the
 * latest state per record (KIP-87 style table topics).
 */
export const TOPIC_KINDS = ['appointments', 'contacts', 'activities', 'calendar', 'touchpoints', 'dlq', 'calendar_changes', 'appointmentsHistory', 'contactsHistory', 'activitiesHistory'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

export interface TopicSpec {
  kind: TopicKind;
  /** Name without the environment prefix. */
  baseName: string;
  /** Compacted topics are tables: the latest record per key is the state. */
  compacted: boolean;
  /** Avro schema file under schemas/avro, or null for topics that carry other topics' bytes (the DLQ). */
  schemaFile: string | null;
  doc: string;
}

export const TOPIC_SPECS: Readonly<Record<TopicKind, TopicSpec>> = {
  appointments: { kind: 'appointments', baseName: 'acme.appointments.v1', compacted: false, schemaFile: 'acme-appointment-event.avsc', doc: 'Appointment changes from Acme' },
  contacts: { kind: 'contacts', baseName: 'acme.contacts.v1', compacted: true, schemaFile: 'acme-contact-event.avsc', doc: 'Contacts from Acme, as a table' },
  activities: { kind: 'activities', baseName: 'acme.activities.v1', compacted: false, schemaFile: 'acme-activity-event.avsc', doc: 'Activity changes from Acme' },
  calendar: { kind: 'calendar', baseName: 'calendar.events.v1', compacted: true, schemaFile: 'calendar-event.avsc', doc: 'Our calendar events, as a table' },
  touchpoints: { kind: 'touchpoints', baseName: 'touchpoints.daily.v1', compacted: true, schemaFile: 'touchpoint-aggregate.avsc', doc: 'Touch-point counts per user, day and channel, as a table' },
  calendar_changes: {
    kind: 'calendar_changes',
    baseName: 'calendar.changes.v1',
    // A log of edits, not a table: compaction would drop all but the last edit of an event.
    compacted: false,
    schemaFile: 'calendar-change.avsc',
    doc: 'Edits our calendar users made to Acme-linked events, for write-back to Acme (input; keyed tenant:acmeId)',
  },
  dlq: { kind: 'dlq', baseName: 'acme-sync.dlq.v1', compacted: false, schemaFile: null, doc: 'Records no retry can fix, with their error context in headers' },
  // The history lane (issue 17, src/kafka/lanes.ts): what backfills and reconciliations read,
  // apart from live changes so a tenant's onboarding never queues them behind its history.
  // Same schemas and keys as the live topics; the sinks' version guards order the two lanes.
  appointmentsHistory: { kind: 'appointmentsHistory', baseName: 'acme.appointments.history.v1', compacted: false, schemaFile: 'acme-appointment-event.avsc', doc: 'Appointments read by backfills and reconciliation' },
  contactsHistory: { kind: 'contactsHistory', baseName: 'acme.contacts.history.v1', compacted: true, schemaFile: 'acme-contact-event.avsc', doc: 'Contacts read by backfills and reconciliation, as a table' },
  activitiesHistory: { kind: 'activitiesHistory', baseName: 'acme.activities.history.v1', compacted: false, schemaFile: 'acme-activity-event.avsc', doc: 'Activities read by backfills and reconciliation' },
};

export type TopicNames = Readonly<Record<TopicKind, string>>;

export function topicNames(prefix: string): TopicNames {
  const names = {} as Record<TopicKind, string>;
  for (const kind of TOPIC_KINDS) names[kind] = `${prefix}${TOPIC_SPECS[kind].baseName}`;
  return names;
}

/** TopicNameStrategy: the value schema of topic T is registered under subject `T-value`. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export function recordKey(tenantId: string, acmeId: string): string {
  return `${tenantId}:${acmeId}`;
}

export function touchPointKey(tenantId: string, acmeUserId: string, day: string, channel: string): string {
  return `${tenantId}:${acmeUserId}:${day}:${channel}`;
}

/** Topic-level configs for `createTopics`; table topics compact, the rest expire after 7 days. */
export function topicConfig(spec: TopicSpec): { name: string; value: string }[] {
  return spec.compacted
    ? [
        { name: 'cleanup.policy', value: 'compact' },
        // Keep tombstones a day so slow readers of the table still see deletes.
        { name: 'delete.retention.ms', value: String(24 * 3600 * 1000) },
      ]
    : [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: String(7 * 24 * 3600 * 1000) },
      ];
}

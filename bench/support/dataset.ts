/**
 * A realistic, reproducible backlog: appointments and activities of several tenants'
 * sales reps, with several versions per Acme record, duplicates (the same version
 * twice, as Acme's at-least-once webhooks deliver them), older versions arriving after
 * newer ones, a few deletes and a little bad data (an appointment without a start,
 * which the calendar flow sends to the DLQ). Values are the Avro event types the edge
 * publishes (src/transforms/types.ts), ~300 bytes encoded.
 */
import { createRng } from '../../sandbox/src/prng.js';
import type { AcmeUserRecord } from '../../src/tenants/types.js';
import type { ContactRow } from '../../src/transforms/contact.js';
import type { AcmeActivityEvent, AcmeAppointmentEvent } from '../../src/transforms/types.js';
import { recordKey } from '../../src/kafka/topics.js';

export interface DatasetOptions {
  tenants: number;
  appointments: number;
  activities: number;
  seed?: number;
}

export interface BenchTenant {
  id: string;
  accountId: string;
  webhookSecret: string;
  users: string[];
  contacts: string[];
}

export interface Dataset {
  tenants: BenchTenant[];
  users: AcmeUserRecord[];
  contacts: ContactRow[];
  appointments: { key: string; value: AcmeAppointmentEvent }[];
  activities: { key: string; value: AcmeActivityEvent }[];
}

/** The sandbox's seeded PRNG (mulberry32), as a plain function. */
export function createRandom(seed: number): () => number {
  return createRng(seed).next;
}

const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'UTC', 'America/Los_Angeles', 'Europe/London'];
const TITLES = ['Quarterly business review and renewal', 'Product demo for the purchasing team', 'Contract negotiation, second round', 'Onboarding kick-off with IT and finance'];
const STREETS = ['Hauptstrasse', 'Market Street', 'Rue de Rivoli', 'Baker Street'];
const FIRST = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Allen'];
const ACTIVITY_TYPES = ['email', 'email', 'email', 'email', 'call', 'call', 'call', 'meeting', 'note', 'note'];
const DAY = 86_400_000;
const BASE = Date.UTC(2026, 9, 1);

const pick = <T>(rand: () => number, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const hex = (rand: () => number, length: number) => Array.from({ length }, () => Math.floor(rand() * 16).toString(16)).join('');
const uuid = (rand: () => number) => `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-a${hex(rand, 3)}-${hex(rand, 12)}`;

export function tenantId(i: number): string {
  return `bt${String(i).padStart(4, '0')}`;
}

function makeTenants(count: number, rand: () => number): BenchTenant[] {
  // Per tenant: enough users and contacts to give realistic (user, day, channel) spread.
  const usersPer = Math.max(2, Math.round(120 / count));
  const contactsPer = Math.max(5, Math.round(3_000 / count));
  return Array.from({ length: count }, (_, i) => ({
    id: tenantId(i),
    accountId: `acc_bench${i}`,
    webhookSecret: `whsec_${Buffer.from(Array.from({ length: 32 }, () => Math.floor(rand() * 256))).toString('base64')}`,
    users: Array.from({ length: usersPer }, (_, u) => `usr_${i.toString(36)}x${u.toString(36).padStart(6, '0')}`),
    contacts: Array.from({ length: contactsPer }, (_, c) => `con_${i.toString(36)}x${c.toString(36).padStart(8, '0')}`),
  }));
}

/**
 * Versions per record: mostly the next one, sometimes the same again (duplicate) or
 * an older one (reordered delivery) — both must change nothing downstream.
 */
function nextVersion(rand: () => number, versions: Map<number, number>, record: number): number {
  const current = versions.get(record) ?? 0;
  const roll = rand();
  if (current > 0 && roll < 0.06) return current; // duplicate
  if (current > 1 && roll < 0.1) return current - 1; // older, after a newer one
  versions.set(record, current + 1);
  return current + 1;
}

export function createDataset(options: DatasetOptions): Dataset {
  const rand = createRandom(options.seed ?? 42);
  const tenants = makeTenants(options.tenants, rand);
  const users = tenants.flatMap((t) => t.users.map((u, i) => ({ tenantId: t.id, acmeUserId: u, email: `${u}@${t.id}.example`, name: `${pick(rand, FIRST)} ${pick(rand, LAST)}`, timeZone: ZONES[i % ZONES.length]! })));
  const contacts: ContactRow[] = tenants.flatMap((t) =>
    t.contacts.map((c) => ({
      tenantId: t.id, acmeId: c, acmeVersion: 1, firstName: pick(rand, FIRST), lastName: pick(rand, LAST), email: `${c}@customer.example`,
      phone: `+49 30 ${Math.floor(rand() * 9e6 + 1e6)}`, company: `${pick(rand, LAST)} GmbH`, deleted: false, acmeUpdatedAt: BASE,
    })),
  );

  const appointmentIds = Math.max(1, Math.round(options.appointments / 2.5));
  const appointmentVersions = new Map<number, number>();
  const appointments = Array.from({ length: options.appointments }, (_, i) => {
    const record = Math.floor(rand() * appointmentIds);
    const tenant = tenants[record % tenants.length]!;
    const version = nextVersion(rand, appointmentVersions, record);
    const startsAt = BASE + Math.floor(rand() * 60) * DAY + Math.floor(rand() * 20) * 1_800_000;
    const bad = rand() < 0.002;
    const value: AcmeAppointmentEvent = {
      event_id: uuid(rand), tenant_id: tenant.id, acme_id: `apt_${record.toString(36).padStart(12, '0')}`, acme_version: version,
      acme_updated_at: BASE + i * 10 + version, operation: rand() < 0.02 ? 'DELETE' : 'UPSERT', source: 'WEBHOOK', received_at: BASE + i * 10 + 5,
      correlation_id: `evt_${hex(rand, 24)}`, owner_user_id: pick(rand, tenant.users), contact_id: pick(rand, tenant.contacts),
      title: `${pick(rand, TITLES)} (${version})`, starts_at: bad ? null : startsAt, ends_at: bad ? null : startsAt + 3_600_000, time_zone: pick(rand, ZONES),
      location: `${Math.floor(rand() * 200)} ${pick(rand, STREETS)}, meeting room ${Math.floor(rand() * 9)}, 3rd floor, entrance B (ask at reception)`, status: rand() < 0.1 ? 'CANCELLED' : 'SCHEDULED',
    };
    return { key: recordKey(tenant.id, value.acme_id), value };
  });

  const activityIds = Math.max(1, Math.round(options.activities / 1.6));
  const activityVersions = new Map<number, number>();
  const activities = Array.from({ length: options.activities }, (_, i) => {
    const record = Math.floor(rand() * activityIds);
    const tenant = tenants[record % tenants.length]!;
    const recordRand = createRandom(record + 1); // the same user and time for every version of one activity
    const type = pick(recordRand, ACTIVITY_TYPES);
    const version = nextVersion(rand, activityVersions, record);
    const value: AcmeActivityEvent = {
      event_id: uuid(rand), tenant_id: tenant.id, acme_id: `act_${record.toString(36).padStart(12, '0')}`, acme_version: version,
      acme_updated_at: BASE + i * 10 + version, operation: rand() < 0.03 ? 'DELETE' : 'UPSERT', source: 'WEBHOOK', received_at: BASE + i * 10 + 5,
      correlation_id: `evt_${hex(rand, 24)}`, activity_type: type, direction: rand() < 0.5 ? 'inbound' : 'outbound', user_id: pick(recordRand, tenant.users),
      contact_id: pick(rand, tenant.contacts), subject: `Re: ${pick(rand, TITLES)} — follow-up on the proposal, pricing tiers and next steps for the rollout (${version})`,
      occurred_at: BASE + Math.floor(recordRand() * 30 * DAY), duration_seconds: type === 'call' ? Math.floor(rand() * 1_800) : null,
    };
    return { key: recordKey(tenant.id, value.acme_id), value };
  });
  return { tenants, users, contacts, appointments, activities };
}

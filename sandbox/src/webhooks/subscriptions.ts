// Webhook subscriptions per account, with secret rotation: after a rotation the old
// secret keeps signing alongside the new one until its grace period ends, so receivers
// can roll their configuration without dropping deliveries.

import type { Clock } from '../clock.js';
import type { IdFactory } from '../ids.js';
import { createSecret } from './signing.js';

export const EVENT_TYPES = [
  'contact.created',
  'contact.updated',
  'contact.deleted',
  'appointment.created',
  'appointment.updated',
  'appointment.deleted',
  'activity.created',
  'activity.updated',
  'activity.deleted',
] as const;

export interface Subscription {
  id: string;
  account_id: string;
  url: string;
  event_types: string[];
  created_at: string;
}

interface SecretEntry { secret: string; expiresAt: number | null }
interface Entry { sub: Subscription; secrets: SecretEntry[] }

export interface Subscriptions {
  create(accountId: string, url: string, eventTypes: string[]): { subscription: Subscription; secret: string };
  get(accountId: string, id: string): Subscription | undefined;
  list(accountId: string): Subscription[];
  remove(accountId: string, id: string): boolean;
  rotate(accountId: string, id: string, graceSeconds: number): { secret: string; previousExpiresAt: string } | undefined;
  /** Secrets that should sign a delivery right now, newest first. */
  activeSecrets(id: string): string[];
  matching(accountId: string, eventType: string): Subscription[];
  exists(id: string): boolean;
  reset(): void;
}

/** `*`, `contact.*` and exact types are accepted as filters. */
export function isValidEventFilter(f: string): boolean {
  if (f === '*') return true;
  if (f.endsWith('.*')) return ['contact', 'appointment', 'activity'].includes(f.slice(0, -2));
  return (EVENT_TYPES as readonly string[]).includes(f);
}

export function matchesFilter(filters: readonly string[], type: string): boolean {
  return filters.some((f) => f === '*' || f === type || (f.endsWith('.*') && type.startsWith(f.slice(0, -1))));
}

export function createSubscriptions(clock: Clock, ids: () => IdFactory): Subscriptions {
  let entries = new Map<string, Entry>();

  const own = (accountId: string, id: string): Entry | undefined => {
    const e = entries.get(id);
    return e && e.sub.account_id === accountId ? e : undefined;
  };

  return {
    create(accountId, url, eventTypes) {
      const sub: Subscription = {
        id: ids().next('whs'),
        account_id: accountId,
        url,
        event_types: eventTypes.length > 0 ? [...eventTypes] : ['*'],
        created_at: new Date(clock.now()).toISOString(),
      };
      const secret = createSecret();
      entries.set(sub.id, { sub, secrets: [{ secret, expiresAt: null }] });
      return { subscription: { ...sub }, secret };
    },
    get: (accountId, id) => {
      const e = own(accountId, id);
      return e ? { ...e.sub } : undefined;
    },
    list: (accountId) => [...entries.values()].filter((e) => e.sub.account_id === accountId).map((e) => ({ ...e.sub })),
    remove: (accountId, id) => (own(accountId, id) ? entries.delete(id) : false),
    rotate(accountId, id, graceSeconds) {
      const e = own(accountId, id);
      if (!e) return undefined;
      const expiresAt = clock.now() + graceSeconds * 1000;
      // Older secrets still in their grace period keep it; the current one starts its own.
      for (const s of e.secrets) if (s.expiresAt === null) s.expiresAt = expiresAt;
      const secret = createSecret();
      e.secrets.unshift({ secret, expiresAt: null });
      return { secret, previousExpiresAt: new Date(expiresAt).toISOString() };
    },
    activeSecrets(id) {
      const e = entries.get(id);
      if (!e) return [];
      const now = clock.now();
      e.secrets = e.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now);
      return e.secrets.map((s) => s.secret);
    },
    matching: (accountId, type) =>
      [...entries.values()].filter((e) => e.sub.account_id === accountId && matchesFilter(e.sub.event_types, type)).map((e) => ({ ...e.sub })),
    exists: (id) => entries.has(id),
    reset() {
      entries = new Map();
    },
  };
}

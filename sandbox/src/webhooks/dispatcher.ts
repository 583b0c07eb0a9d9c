// At-least-once webhook delivery over real HTTP. Each change becomes one event; each
// matching subscription gets a delivery that is retried with exponential backoff until
// the receiver answers 2xx or attempts run out. Delivery faults (lose, duplicate,
// reorder, late, malformed body) are decided once per delivery, at publish time, in
// publish order - which is what makes a seeded run reproducible.

import type { Clock, TimerHandle } from '../clock.js';
import type { Faults } from '../faults.js';
import type { IdFactory } from '../ids.js';
import type { Store } from '../store.js';
import type { ChangeEvent } from '../types.js';
import { signatureHeader } from './signing.js';
import type { Subscription, Subscriptions } from './subscriptions.js';

export interface DispatcherOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  timeoutMs: number;
  /** Deliveries in flight per subscription; 1 keeps send order deterministic. */
  concurrency: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  retryBaseMs: 1000,
  retryMaxMs: 60_000,
  maxAttempts: 8,
  timeoutMs: 5000,
  concurrency: 1,
};

export interface WebhookEvent {
  id: string;
  type: string;
  account_id: string;
  occurred_at: string;
  data: { object: unknown } | { id: string; object_type: string; version: number };
}

export type DeliveryStatus = 'queued' | 'held' | 'delayed' | 'in_flight' | 'retry_scheduled' | 'succeeded' | 'failed' | 'lost' | 'cancelled';

export interface AttemptRecord {
  attempt: number;
  started_at: string;
  webhook_timestamp: number;
  signature: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface DeliveryRecord {
  id: string;
  event_id: string;
  event_type: string;
  subscription_id: string;
  account_id: string;
  url: string;
  object_id: string;
  object_version: number;
  status: DeliveryStatus;
  duplicate: boolean;
  malformed: boolean;
  late_ms: number;
  reorder_by: number;
  body: string;
  attempts: AttemptRecord[];
  next_attempt_at: string | null;
}

export interface SentRecord {
  seq: number;
  delivery_id: string;
  event_id: string;
  subscription_id: string;
  attempt: number;
  status_code: number | null;
}

export interface EventRecord {
  event: WebhookEvent;
  subscriptions: string[];
}

export interface Dispatcher {
  publish(change: ChangeEvent): WebhookEvent;
  deliveries(filter?: { eventId?: string; status?: DeliveryStatus; accountId?: string }): DeliveryRecord[];
  /** Every HTTP attempt in the order it was started. */
  sent(): SentRecord[];
  events(accountId?: string): EventRecord[];
  pendingCount(): number;
  /** Sends held, late and retry-scheduled deliveries now instead of waiting for timers. */
  flush(): void;
  /** Resolves true once nothing is queued, held, delayed, in flight or awaiting retry. */
  waitForIdle(timeoutMs?: number): Promise<boolean>;
  cancelSubscription(subscriptionId: string): void;
  reset(): void;
  close(): void;
}

interface Held { delivery: DeliveryRecord; remaining: number; timer: TimerHandle }

const PENDING: ReadonlySet<DeliveryStatus> = new Set(['queued', 'held', 'delayed', 'in_flight', 'retry_scheduled']);

export function buildEvent(id: string, change: ChangeEvent, mode: 'full' | 'thin'): WebhookEvent {
  const { object } = change;
  return {
    id,
    type: `${change.objectType}.${change.kind}`,
    account_id: change.accountId,
    occurred_at: change.occurredAt,
    data: mode === 'thin' ? { id: object.id, object_type: change.objectType, version: object.version } : { object },
  };
}

/** A signed but unparseable body: what a buggy vendor serializer would send. */
export function malformBody(body: string): string {
  return `${body.slice(0, Math.max(1, Math.floor(body.length / 2)))},"truncated`;
}

export function createDispatcher(deps: {
  clock: Clock;
  store: Store;
  faults: Faults;
  subscriptions: Subscriptions;
  ids: () => IdFactory;
  options: DispatcherOptions;
}): Dispatcher {
  const { clock, store, faults, subscriptions, options } = deps;
  let records: DeliveryRecord[] = [];
  let sentLog: SentRecord[] = [];
  let eventLog: EventRecord[] = [];
  const queues = new Map<string, DeliveryRecord[]>();
  const active = new Map<string, number>();
  const held = new Map<string, Held[]>();
  const timers = new Map<string, TimerHandle>(); // delivery id -> late/retry timer
  const idleWaiters = new Set<() => void>();
  let closed = false;

  const iso = (ms: number): string => new Date(ms).toISOString();
  const pendingCount = (): number => records.filter((r) => PENDING.has(r.status)).length;

  const notifyIfIdle = (): void => {
    if (pendingCount() > 0) return;
    for (const w of idleWaiters) w();
    idleWaiters.clear();
  };

  const enqueue = (d: DeliveryRecord): void => {
    if (closed || d.status === 'cancelled') return;
    d.status = 'queued';
    d.next_attempt_at = null;
    const q = queues.get(d.subscription_id) ?? [];
    q.push(d);
    queues.set(d.subscription_id, q);
    pump(d.subscription_id);
  };

  const releaseHeld = (subId: string, h: Held): void => {
    clock.clearTimeout(h.timer);
    held.set(subId, (held.get(subId) ?? []).filter((x) => x !== h));
    enqueue(h.delivery);
  };

  // A new delivery for the subscription overtakes every held one; those that have been
  // overtaken often enough go out right after it.
  const enqueueFresh = (d: DeliveryRecord): void => {
    enqueue(d);
    const list = held.get(d.subscription_id) ?? [];
    for (const h of [...list]) {
      h.remaining -= 1;
      if (h.remaining <= 0) releaseHeld(d.subscription_id, h);
    }
  };

  const hold = (d: DeliveryRecord): void => {
    d.status = 'held';
    const h: Held = { delivery: d, remaining: d.reorder_by, timer: { id: -1 } };
    h.timer = clock.setTimeout(() => releaseHeld(d.subscription_id, h), faults.config().reorderMaxHoldMs);
    held.set(d.subscription_id, [...(held.get(d.subscription_id) ?? []), h]);
  };

  const schedule = (d: DeliveryRecord, status: 'delayed' | 'retry_scheduled', ms: number, then: () => void): void => {
    d.status = status;
    d.next_attempt_at = iso(clock.now() + ms);
    timers.set(
      d.id,
      clock.setTimeout(() => {
        timers.delete(d.id);
        then();
      }, ms),
    );
  };

  const route = (d: DeliveryRecord): void => {
    if (d.late_ms > 0) return schedule(d, 'delayed', d.late_ms, () => (d.reorder_by > 0 ? hold(d) : enqueueFresh(d)));
    if (d.reorder_by > 0) return hold(d);
    enqueueFresh(d);
  };

  const attemptOnce = async (d: DeliveryRecord): Promise<number | null> => {
    const started = clock.now();
    const ts = Math.floor(started / 1000);
    const signature = signatureHeader(subscriptions.activeSecrets(d.subscription_id), d.event_id, ts, d.body);
    const attempt: AttemptRecord = { attempt: d.attempts.length + 1, started_at: iso(started), webhook_timestamp: ts, signature, status_code: null, error: null, duration_ms: 0 };
    d.attempts.push(attempt);
    const seq = sentLog.length + 1;
    const sent: SentRecord = { seq, delivery_id: d.id, event_id: d.event_id, subscription_id: d.subscription_id, attempt: attempt.attempt, status_code: null };
    sentLog.push(sent);
    const t0 = Date.now();
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Acme-Webhooks/1.0 (sandbox)',
          'webhook-id': d.event_id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signature,
        },
        body: d.body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      attempt.status_code = res.status;
      sent.status_code = res.status;
      return res.status;
    } catch (err) {
      attempt.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      return null;
    } finally {
      attempt.duration_ms = Date.now() - t0;
    }
  };

  const retryDelay = (failedAttempts: number): number => Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** (failedAttempts - 1));

  const deliver = async (d: DeliveryRecord): Promise<void> => {
    d.status = 'in_flight';
    const status = await attemptOnce(d);
    if ((d.status as DeliveryStatus) === 'cancelled' || closed) return;
    if (status !== null && status >= 200 && status < 300) {
      d.status = 'succeeded';
      return;
    }
    if (d.attempts.length >= options.maxAttempts) {
      d.status = 'failed';
      return;
    }
    schedule(d, 'retry_scheduled', retryDelay(d.attempts.length), () => enqueue(d));
  };

  const pump = (subId: string): void => {
    const q = queues.get(subId);
    while (q && q.length > 0 && (active.get(subId) ?? 0) < options.concurrency) {
      const d = q.shift() as DeliveryRecord;
      if (d.status === 'cancelled') continue;
      active.set(subId, (active.get(subId) ?? 0) + 1);
      void deliver(d).finally(() => {
        active.set(subId, (active.get(subId) ?? 1) - 1);
        pump(subId);
        notifyIfIdle();
      });
    }
  };

  const newDelivery = (event: WebhookEvent, sub: Subscription, body: string, objectVersion: number, objectId: string): DeliveryRecord => ({
    id: deps.ids().next('dlv'),
    event_id: event.id,
    event_type: event.type,
    subscription_id: sub.id,
    account_id: event.account_id,
    url: sub.url,
    object_id: objectId,
    object_version: objectVersion,
    status: 'queued',
    duplicate: false,
    malformed: false,
    late_ms: 0,
    reorder_by: 0,
    body,
    attempts: [],
    next_attempt_at: null,
  });

  const fanOut = (event: WebhookEvent, change: ChangeEvent, sub: Subscription, body: string): void => {
    const f = faults.forDelivery();
    const d = newDelivery(event, sub, body, change.object.version, change.object.id);
    d.late_ms = f.lateMs;
    d.reorder_by = f.reorderBy;
    if (f.malformed) {
      d.malformed = true;
      d.body = malformBody(body);
      store.markBad({ kind: 'malformed_webhook', account_id: event.account_id, object_type: 'webhook', id: event.id, detail: `body of ${event.type} for ${change.object.id} truncated` });
    }
    records.push(d);
    if (f.lose) {
      d.status = 'lost';
      return;
    }
    route(d);
    if (f.duplicate) {
      const copy = { ...newDelivery(event, sub, d.body, d.object_version, d.object_id), duplicate: true, malformed: d.malformed };
      records.push(copy);
      enqueueFresh(copy);
    }
  };

  return {
    publish(change) {
      const mode = store.getAccount(change.accountId)?.webhook_payload ?? 'full';
      const event = buildEvent(deps.ids().next('evt'), change, mode);
      const body = JSON.stringify(event);
      const subs = subscriptions.matching(change.accountId, event.type);
      eventLog.push({ event, subscriptions: subs.map((s) => s.id) });
      for (const sub of subs) fanOut(event, change, sub, body);
      return event;
    },
    deliveries(filter = {}) {
      return records.filter(
        (r) => (!filter.eventId || r.event_id === filter.eventId) && (!filter.status || r.status === filter.status) && (!filter.accountId || r.account_id === filter.accountId),
      );
    },
    sent: () => [...sentLog],
    events: (accountId) => eventLog.filter((e) => !accountId || e.event.account_id === accountId),
    pendingCount,
    flush() {
      for (const [subId, list] of held) for (const h of [...list]) releaseHeld(subId, h);
      for (const [id, t] of [...timers]) {
        clock.clearTimeout(t);
        timers.delete(id);
        const d = records.find((r) => r.id === id);
        if (!d) continue;
        if (d.status === 'delayed' && d.reorder_by > 0) hold(d);
        else enqueue(d);
      }
      for (const [subId, list] of held) for (const h of [...list]) releaseHeld(subId, h);
    },
    waitForIdle(timeoutMs = 10_000) {
      if (pendingCount() === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        // Real timer on purpose: a manual test clock must not make waiting hang forever.
        const t = setTimeout(() => {
          idleWaiters.delete(done);
          resolve(false);
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(t);
          resolve(true);
        };
        idleWaiters.add(done);
      });
    },
    cancelSubscription(subscriptionId) {
      for (const r of records) {
        if (r.subscription_id !== subscriptionId || !PENDING.has(r.status) || r.status === 'in_flight') continue;
        r.status = 'cancelled';
        const t = timers.get(r.id);
        if (t) clock.clearTimeout(t);
        timers.delete(r.id);
      }
      for (const h of held.get(subscriptionId) ?? []) clock.clearTimeout(h.timer);
      held.delete(subscriptionId);
      queues.delete(subscriptionId);
      notifyIfIdle();
    },
    reset() {
      for (const t of timers.values()) clock.clearTimeout(t);
      for (const list of held.values()) for (const h of list) clock.clearTimeout(h.timer);
      for (const r of records) if (PENDING.has(r.status)) r.status = 'cancelled';
      timers.clear();
      held.clear();
      queues.clear();
      records = [];
      sentLog = [];
      eventLog = [];
      notifyIfIdle();
    },
    close() {
      closed = true;
      this.reset();
    },
  };
}

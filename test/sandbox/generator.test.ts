import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock, createSandbox, type Sandbox, type Truth } from '../../sandbox/src/index.js';
import { contract } from './support/harness.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let sb: Sandbox | undefined;
let rx: Receiver | undefined;
afterEach(async () => {
  await sb?.close();
  await rx?.close();
  sb = undefined;
  rx = undefined;
});

type Obj = Record<string, unknown> & { id: string; version: number };

// --- An independent re-implementation of the truth rules, fed only by what an
// --- integration can observe: webhook bodies and the REST API.

const dayIn = (iso: string, tz: string): string => new Date(iso).toLocaleDateString('en-CA', { timeZone: tz });

function latestByVersion(objects: Obj[]): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const o of objects) if ((out.get(o.id)?.version ?? 0) < o.version) out.set(o.id, o);
  return out;
}

interface Observed {
  accountId: string;
  users: Obj[];
  contacts: Map<string, Obj>;
  appointments: Map<string, Obj>;
  activities: Map<string, Obj>;
}

function recompute(observed: Observed[], badIds: Set<string>): Pick<Truth, 'calendar_events' | 'touch_points'> {
  const calendar: Truth['calendar_events'] = [];
  const counts = new Map<string, Truth['touch_points'][number]>();
  for (const o of observed) {
    const users = new Map(o.users.map((u) => [u.id, u]));
    for (const a of o.appointments.values()) {
      if (badIds.has(a.id)) continue;
      const c = o.contacts.get(String(a.contact_id))!;
      const owner = users.get(String(a.owner_user_id))!;
      calendar.push({
        account_id: o.accountId,
        appointment_id: a.id,
        title: String(a.title),
        starts_at: String(a.starts_at),
        ends_at: String(a.ends_at),
        time_zone: String(a.time_zone),
        status: a.deleted_at !== null || a.status === 'cancelled' ? 'cancelled' : 'active',
        owner_user_id: owner.id,
        owner_email: String(owner.email),
        contact_id: c.id,
        contact: { name: `${String(c.first_name)} ${String(c.last_name)}`, phone: c.phone as string | null, email: c.email as string | null },
        version: a.version,
      });
    }
    for (const act of o.activities.values()) {
      if (badIds.has(act.id) || act.deleted_at !== null || (act.type !== 'email' && act.type !== 'call')) continue;
      const user = users.get(String(act.user_id))!;
      const day = dayIn(String(act.occurred_at), String(user.time_zone));
      const channel = act.type === 'email' ? 'email' : 'phone';
      const key = `${o.accountId}|${user.id}|${day}|${channel}`;
      const tp = counts.get(key) ?? { account_id: o.accountId, user_id: user.id, user_email: String(user.email), day, channel, count: 0 };
      tp.count++;
      counts.set(key, tp);
    }
  }
  const byKey = <T>(f: (x: T) => string) => (a: T, b: T) => (f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0);
  return {
    calendar_events: calendar.sort(byKey((e) => e.account_id + e.appointment_id)),
    touch_points: [...counts.values()].sort(byKey((t) => `${t.account_id}|${t.user_id}|${t.day}|${t.channel}`)),
  };
}

async function listAll(sb: Sandbox, apiKey: string, path: string): Promise<Obj[]> {
  const out: Obj[] = [];
  let cursor: string | null = null;
  do {
    const res = await sb.app.inject({ method: 'GET', url: `/v1/${path}?limit=200${cursor ? `&cursor=${cursor}` : ''}`, headers: { authorization: `Bearer ${apiKey}` } });
    const body = res.json() as { data: Obj[]; next_cursor: string | null };
    out.push(...body.data);
    cursor = body.next_cursor;
  } while (cursor);
  return out;
}

describe('traffic generator', () => {
  it('produces a truth that matches an independent replay of the delivered webhooks, despite duplicates, reordering and bad data', async () => {
    sb = createSandbox({ seed: 5, rateLimit: null, faults: { duplicate: 0.2, reorder: 0.2, reorderMaxHoldMs: 50, badData: 0.05 } });
    rx = await startReceiver();
    const run = sb.startGenerator({ accounts: 2, users: 3, contacts: 6, events: 400, webhookUrl: rx.url });
    const truth = await run.done;
    sb.deliveries.flush();
    expect(await sb.deliveries.waitForIdle(10_000)).toBe(true);

    const bad = (await sb.app.inject({ method: 'GET', url: '/_sandbox/bad-data' })).json().data as Array<{ id: string; kind: string }>;
    const badIds = new Set(bad.map((b) => b.id));
    const parsed = rx.requests.flatMap((r) => {
      try {
        return [JSON.parse(r.body) as { account_id: string; type: string; data: { object: Obj } }];
      } catch {
        return []; // malformed bodies; their changes are recovered from other events or polling
      }
    });
    const observed: Observed[] = [];
    for (const acc of run.accounts) {
      const mine = parsed.filter((e) => e.account_id === acc.account_id);
      const of = (prefix: string) => latestByVersion(mine.filter((e) => e.type.startsWith(prefix)).map((e) => e.data.object));
      const o: Observed = { accountId: acc.account_id, users: await listAll(sb, acc.api_key, 'users'), contacts: of('contact.'), appointments: of('appointment.'), activities: of('activity.') };
      // Whatever the webhooks missed (a malformed body) polling fills in; the store must agree with the replay.
      for (const [path, map] of [['contacts', o.contacts], ['appointments', o.appointments], ['activities', o.activities]] as const) {
        const stored = await listAll(sb, acc.api_key, path);
        for (const s of stored) {
          const seen = map.get(s.id);
          if (seen && seen.version === s.version) expect(seen).toEqual(s);
          else map.set(s.id, s);
        }
        expect(map.size).toBe(stored.length);
      }
      observed.push(o);
    }

    const expected = recompute(observed, badIds);
    expect(truth.calendar_events).toEqual(expected.calendar_events);
    expect(truth.touch_points).toEqual(expected.touch_points);
    expect(truth.bad_records.map((b) => b.id).sort()).toEqual([...badIds].sort());
    expect(contract.checkSchema('Truth', truth)).toEqual([]);

    // The run is non-trivial: every kind of change happened and edge cases are present.
    expect(truth.stats.events).toBe(400);
    for (const action of ['move_appointment', 'cancel_appointment', 'delete_appointment', 'edit_activity', 'delete_activity', 'edit_contact']) expect(truth.stats.by_action[action]).toBeGreaterThan(0);
    expect(truth.calendar_events.some((e) => e.status === 'cancelled')).toBe(true);
    expect(truth.calendar_events.some((e) => e.version > 1 && e.status === 'active')).toBe(true);
    expect(truth.touch_points.some((t) => t.channel === 'phone')).toBe(true);
    const users = new Map(truth.accounts.flatMap((a) => a.users).map((u) => [u.id, u]));
    expect(new Set([...users.values()].map((u) => u.time_zone)).size).toBeGreaterThan(2);
    const activities = observed.flatMap((o) => [...o.activities.values()]);
    expect(activities.some((a) => dayIn(String(a.occurred_at), users.get(String(a.user_id))!.time_zone) !== String(a.occurred_at).slice(0, 10))).toBe(true);
    expect(bad.length).toBeGreaterThan(0);

    const viaHttp = await sb.app.inject({ method: 'GET', url: '/_sandbox/truth' });
    expect(viaHttp.json()).toEqual(truth);
  });

  it('replays to the same truth in thin payload mode by fetching each notified object', async () => {
    sb = createSandbox({ seed: 11, rateLimit: null });
    rx = await startReceiver();
    const run = sb.startGenerator({ accounts: 1, users: 2, contacts: 4, events: 120, webhookPayload: 'thin', webhookUrl: rx.url });
    const truth = await run.done;
    expect(await sb.deliveries.waitForIdle(10_000)).toBe(true);
    const acc = run.accounts[0]!;
    const maps = { contact: new Map<string, Obj>(), appointment: new Map<string, Obj>(), activity: new Map<string, Obj>() };
    for (const r of rx.requests) {
      const event = JSON.parse(r.body) as { data: { id: string; object_type: keyof typeof maps; version: number } };
      expect(Object.keys(event.data).sort()).toEqual(['id', 'object_type', 'version']);
      const path = { contact: 'contacts', appointment: 'appointments', activity: 'activities' }[event.data.object_type];
      if ((maps[event.data.object_type].get(event.data.id)?.version ?? 0) >= event.data.version) continue;
      const res = await sb.app.inject({ method: 'GET', url: `/v1/${path}/${event.data.id}`, headers: { 'x-api-key': acc.api_key } });
      maps[event.data.object_type].set(event.data.id, res.json());
    }
    const observed: Observed = { accountId: acc.account_id, users: await listAll(sb, acc.api_key, 'users'), contacts: maps.contact, appointments: maps.appointment, activities: maps.activity };
    expect(truth.calendar_events.length).toBeGreaterThan(5);
    expect(recompute([observed], new Set())).toEqual({ calendar_events: truth.calendar_events, touch_points: truth.touch_points });
  });

  it('gives the same truth for the same seed and a different one for another seed', async () => {
    const runOnce = async (seed: number): Promise<Truth> => {
      const s = createSandbox({ seed, rateLimit: null, faults: { badData: 0.05 } });
      try {
        return await s.startGenerator({ accounts: 2, users: 2, contacts: 5, events: 300 }).done;
      } finally {
        await s.close();
      }
    };
    const [a, b, c] = [await runOnce(21), await runOnce(21), await runOnce(22)];
    expect(b).toEqual(a);
    expect(c.calendar_events).not.toEqual(a.calendar_events);
  });

  it('subscribes each account at its own URL and waits for start() when autoStart is false', async () => {
    // A manual clock: a paced generator that started would have made its first change
    // synchronously, so "nothing yet" is observable without waiting for anything.
    const clock = createManualClock();
    sb = createSandbox({ seed: 3, rateLimit: null, clock });
    const receiver = await startReceiver();
    rx = receiver;
    const run = sb.startGenerator({ accounts: 2, users: 1, contacts: 2, events: 20, rate: 10, webhookUrl: `${receiver.url}/{account_id}`, autoStart: false });
    expect(run.accounts.map((a) => a.webhook_subscription?.url)).toEqual(run.accounts.map((a) => `${receiver.url}/${a.account_id}`));
    // The delivery log: the accounts' set-up, and no change of the generator's.
    const setUp = sb.deliveries.deliveries().length;
    clock.advance(60_000);
    expect(run.status().events_done).toBe(0);
    expect(sb.deliveries.deliveries()).toHaveLength(setUp);
    run.start();
    run.start();
    expect(run.status().events_done).toBe(1);
    clock.advance(2_000);
    const truth = await run.done;
    expect(truth.stats.events).toBe(20);
  });

  it('paces actions at the requested rate and serves status and a 409 truth while running', async () => {
    sb = createSandbox({ rateLimit: null });
    const started = await sb.app.inject({ method: 'POST', url: '/_sandbox/generator', payload: { seed: 3, accounts: 1, users: 1, contacts: 2, events: 30, rate: 100 } });
    expect(started.statusCode).toBe(202);
    const t0 = Date.now();
    expect((await sb.app.inject({ method: 'GET', url: '/_sandbox/truth' })).statusCode).toBe(409);
    expect((await sb.app.inject({ method: 'POST', url: '/_sandbox/generator', payload: {} })).statusCode).toBe(409);
    const status = (await sb.app.inject({ method: 'GET', url: '/_sandbox/generator' })).json();
    expect(status.state).toBe('running');
    expect(status.events_done).toBeLessThan(30);
    await sb.generator()!.done;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect((await sb.app.inject({ method: 'GET', url: '/_sandbox/truth' })).json().stats.events).toBe(30);
  });
});

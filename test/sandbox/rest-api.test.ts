import { afterEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../sandbox/src/index.js';
import { appointmentInput, createHarness, type Harness } from './support/harness.js';

let h: Harness;
afterEach(async () => h?.sb.close());

async function pageAll(h: Harness, path: string, limit: number, between?: (page: number) => Promise<void>): Promise<Array<{ id: string; version: number; updated_at: string }>> {
  const seen: Array<{ id: string; version: number; updated_at: string }> = [];
  let cursor: string | null = null;
  let page = 0;
  do {
    const q = new URLSearchParams({ limit: String(limit), ...(cursor ? { cursor } : {}) });
    const res = await h.call({ method: 'GET', url: `${path}?${q.toString()}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { data: Array<{ id: string; version: number; updated_at: string }>; next_cursor: string | null };
    seen.push(...body.data);
    cursor = body.next_cursor;
    if (cursor) await between?.(page++);
  } while (cursor);
  return seen;
}

describe('REST resources', () => {
  it('creates, patches and soft-deletes an appointment, bumping version each time and keeping it readable', async () => {
    h = await createHarness();
    const created = await h.call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h) });
    expect(created.statusCode).toBe(201);
    const apt = created.json();
    expect(apt).toMatchObject({ version: 1, status: 'scheduled', time_zone: 'Europe/Berlin', deleted_at: null });
    expect(apt.id).toMatch(/^apt_/);

    const moved = await h.call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, payload: { starts_at: '2025-03-05T09:00:00+01:00', ends_at: '2025-03-05T10:00:00+01:00' } });
    expect(moved.json()).toMatchObject({ version: 2, starts_at: '2025-03-05T08:00:00.000Z' });
    expect(moved.json().updated_at > apt.updated_at).toBe(true);

    const deleted = await h.call({ method: 'DELETE', url: `/v1/appointments/${apt.id}` });
    expect(deleted.json()).toMatchObject({ version: 3 });
    expect(deleted.json().deleted_at).not.toBeNull();

    const fetched = await h.call({ method: 'GET', url: `/v1/appointments/${apt.id}` });
    expect(fetched.json()).toEqual(deleted.json());
    const patchDeleted = await h.call({ method: 'PATCH', url: `/v1/appointments/${apt.id}`, payload: { title: 'x' } });
    expect(patchDeleted.statusCode).toBe(409);
  });

  it('answers 404 with an error body for unknown ids and for records of another account', async () => {
    h = await createHarness();
    const other = h.sb.provisionAccount({ name: 'Other' });
    const missing = await h.call({ method: 'GET', url: '/v1/contacts/con_nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    const foreign = await h.call({ method: 'GET', url: `/v1/contacts/${h.contactId}` }, other.api_key);
    expect(foreign.statusCode).toBe(404);
  });

  it('rejects appointments that reference unknown contacts or end before they start', async () => {
    h = await createHarness();
    const unknown = await h.call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h, { contact_id: 'con_missing' }) });
    expect(unknown.statusCode).toBe(422);
    const backwards = await h.call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h, { ends_at: '2025-03-04T08:00:00Z' }) });
    expect(backwards.statusCode).toBe(422);
    const badField = await h.call({ method: 'POST', url: '/v1/contacts', payload: { first_name: 'A', last_name: 'B', nickname: 'x' } });
    expect(badField.statusCode).toBe(400);
    expect(badField.json().error.code).toBe('invalid_request');
  });

  it('pages through every record exactly once per version while records are updated between pages', async () => {
    h = await createHarness();
    const ids: string[] = [h.contactId];
    for (let i = 0; i < 24; i++) ids.push(h.sb.store.create('contact', h.accountId, { first_name: `F${i}`, last_name: 'L', email: null, phone: null, company: null }).id);
    const touched: string[] = [];
    const seen = await pageAll(h, '/v1/contacts', 5, async (page) => {
      // Update one record already served and one not yet served after every page.
      const early = ids[page] as string;
      const late = ids[ids.length - 1 - page] as string;
      for (const id of [early, late]) {
        h.sb.store.update('contact', h.accountId, id, { phone: `+1 555 ${page}` });
        touched.push(id);
      }
      if (page === 1) h.sb.store.softDelete('contact', h.accountId, ids[10] as string);
    });
    const keys = seen.map((r) => `${r.id}@${r.version}`);
    expect(new Set(keys).size).toBe(keys.length); // no (id, version) repeated
    for (const id of ids) expect(seen.some((r) => r.id === id)).toBe(true); // none lost
    // Every record's final version was seen: paging to the end catches up with all changes.
    for (const id of ids) {
      const final = h.sb.store.get('contact', h.accountId, id);
      expect(seen.some((r) => r.id === id && r.version === final?.version)).toBe(true);
    }
    const order = seen.map((r) => `${r.updated_at}|${r.id}`);
    expect([...order].sort()).toEqual(order);
    expect(touched.length).toBeGreaterThan(4);
  });

  it('filters by updated_since inclusively and includes soft-deleted records', async () => {
    h = await createHarness();
    const a = h.sb.store.create('contact', h.accountId, { first_name: 'A', last_name: 'A', email: null, phone: null, company: null });
    const b = h.sb.store.create('contact', h.accountId, { first_name: 'B', last_name: 'B', email: null, phone: null, company: null });
    const since = b.updated_at;
    const deleted = h.sb.store.softDelete('contact', h.accountId, a.id);
    const res = await h.call({ method: 'GET', url: `/v1/contacts?updated_since=${encodeURIComponent(since)}` });
    const data = res.json().data as Array<{ id: string; deleted_at: string | null }>;
    expect(data.map((r) => r.id)).toEqual([b.id, a.id]);
    expect(data[1]?.deleted_at).toBe(deleted?.deleted_at);
    const bad = await h.call({ method: 'GET', url: '/v1/contacts?updated_since=yesterday' });
    expect(bad.statusCode).toBe(400);
    const badCursor = await h.call({ method: 'GET', url: '/v1/contacts?cursor=garbage' });
    expect(badCursor.json().error.code).toBe('invalid_cursor');
  });

  it('lists users with their IANA time zones', async () => {
    h = await createHarness();
    const res = await h.call({ method: 'GET', url: '/v1/users' });
    expect(res.json().data).toEqual([expect.objectContaining({ id: h.userId, time_zone: 'Europe/Berlin' })]);
    expect((await h.call({ method: 'GET', url: `/v1/users/${h.userId}` })).json().email).toBe('rita@acme.test');
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once the account exceeds its rate limit', async () => {
    const clock = createManualClock(Date.parse('2025-03-04T09:00:00Z'));
    h = await createHarness({ clock, rateLimit: { capacity: 3, refillPerSecond: 0.5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.call({ method: 'GET', url: '/v1/users' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await h.call({ method: 'GET', url: '/v1/users' });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.headers['x-ratelimit-limit']).toBe('3');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.json().error.code).toBe('rate_limited');
    clock.advance(2000);
    expect((await h.call({ method: 'GET', url: '/v1/users' })).statusCode).toBe(200);
  });

  it('keeps separate buckets per account and honours per-account overrides', async () => {
    h = await createHarness({ rateLimit: { capacity: 1, refillPerSecond: 0.001 } });
    const other = h.sb.provisionAccount({ rate_limit: { capacity: 5, refill_per_second: 1 } });
    expect((await h.call({ method: 'GET', url: '/v1/users' })).statusCode).toBe(200);
    expect((await h.call({ method: 'GET', url: '/v1/users' })).statusCode).toBe(429);
    for (let i = 0; i < 5; i++) expect((await h.call({ method: 'GET', url: '/v1/users' }, other.api_key)).statusCode).toBe(200);
  });
});

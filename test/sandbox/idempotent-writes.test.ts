/**
 * Issue 15: Acme's writes with If-Match and Idempotency-Key. fast-check generates
 * sequences of PATCH/DELETE requests on one appointment — keys reused with the same and
 * with different requests, stale/current/`*`/absent If-Match, read-only tokens — and
 * checks the class of guarantees against a model: a key applies at most once, a replay
 * returns the stored answer without a write or a webhook, a reused key with another
 * request is 422, a stale If-Match is 412 and writes nothing, a 403 is not stored (the
 * same key executes once the token may write), and every applied write sends exactly one
 * webhook-producing change.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { appointmentInput, createHarness, type Harness } from './support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.sb.close();
  h = undefined;
});

const BODIES = [{ title: 'A' }, { title: 'B' }, { location: 'Room 1' }, { status: 'cancelled' }, { ends_at: '2000-01-01T00:00:00Z' }] as const;

const op = fc.record({
  method: fc.constantFrom('PATCH', 'PATCH', 'PATCH', 'DELETE'),
  key: fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined }),
  body: fc.nat({ max: BODIES.length - 1 }),
  ifMatch: fc.constantFrom('absent', 'current', 'stale', 'star'),
  readOnly: fc.boolean(),
});

describe('idempotent, conditional writes', () => {
  it('applies each key at most once, replays stored answers, refuses reused keys and stale versions (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        await h?.sb.close();
        h = await createHarness();
        const readOnly = h.sb.auth.createApiKey(h.accountId, undefined, ['crm.read']);
        const apt = (await h.call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h) })).json() as { id: string };
        let changes = 0;
        h.sb.store.onChange((e) => void (e.object.id === apt.id && changes++));

        const stored = new Map<string, { fp: string; status: number; body: string }>();
        let version = 1;
        let deleted = false;
        let appliedTotal = 0;
        for (const o of ops) {
          const ifMatch = o.ifMatch === 'absent' ? undefined : o.ifMatch === 'star' ? '*' : o.ifMatch === 'current' ? `"${version}"` : `"${version + 7}"`;
          const payload = o.method === 'PATCH' ? BODIES[o.body] : undefined;
          const headers: Record<string, string> = {};
          if (o.key) headers['idempotency-key'] = o.key;
          if (ifMatch) headers['if-match'] = ifMatch;
          const res = await h.call({ method: o.method, url: `/v1/appointments/${apt.id}`, headers, ...(payload ? { payload } : {}) }, o.readOnly ? readOnly : h.apiKey);
          const fp = `${o.method}|${ifMatch ?? ''}|${JSON.stringify(payload ?? null)}`;
          const prior = o.key ? stored.get(o.key) : undefined;
          if (o.readOnly) {
            expect(res.statusCode).toBe(403);
            continue; // not stored: the same key may execute later
          }
          if (prior) {
            if (prior.fp === fp) {
              expect(res.statusCode).toBe(prior.status);
              expect(res.body).toBe(prior.body);
              expect(res.headers['idempotent-replayed']).toBe('true');
            } else {
              expect(res.statusCode).toBe(422);
              expect(res.json().error.code).toBe('idempotency_key_reused');
            }
            continue;
          }
          const stale = ifMatch !== undefined && ifMatch !== '*' && ifMatch !== `"${version}"`;
          if (stale) {
            expect(res.statusCode).toBe(412);
            expect(res.json().error.details.current_version).toBe(version);
          } else if (o.method === 'PATCH' && deleted) expect(res.statusCode).toBe(409);
          else if (o.method === 'PATCH' && 'ends_at' in payload!) {
            expect(res.statusCode).toBe(422);
            expect(res.json().error.details.field_errors.map((f: { field: string }) => f.field)).toContain('ends_at');
          } else {
            expect(res.statusCode).toBe(200);
            const changed = o.method === 'PATCH' || !deleted;
            if (changed) {
              version++;
              appliedTotal++;
            }
            if (o.method === 'DELETE') deleted = true;
            expect(res.headers.etag).toBe(`"${version}"`);
          }
          if (o.key) stored.set(o.key, { fp, status: res.statusCode, body: res.body });
        }
        const writes = (await h.call({ method: 'GET', url: `/_sandbox/writes?account_id=${h.accountId}` })).json().data as { idempotency_key: string; applied: number }[];
        for (const w of writes) expect(w.applied).toBeLessThanOrEqual(1);
        expect(changes).toBe(appliedTotal);
        expect(h.sb.store.get('appointment', h.accountId, apt.id)!.version).toBe(version);
      }),
      { numRuns: 60 },
    );
  });

  it('executes a key again after a 403 once the token may write, then replays it', async () => {
    h = await createHarness();
    const readOnly = h.sb.auth.createApiKey(h.accountId, undefined, ['crm.read']);
    const apt = (await h.call({ method: 'POST', url: '/v1/appointments', payload: appointmentInput(h) })).json() as { id: string };
    const req = { method: 'PATCH', url: `/v1/appointments/${apt.id}`, headers: { 'idempotency-key': 'after-grant', 'if-match': '"1"' }, payload: { title: 'Moved' } };
    expect((await h.call(req, readOnly)).statusCode).toBe(403);
    const first = await h.call(req);
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await h.call(req);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toBe(first.body);
    const [stats] = (await h.call({ method: 'GET', url: `/_sandbox/writes?account_id=${h.accountId}` })).json().data;
    expect(stats).toMatchObject({ idempotency_key: 'after-grant', received: 2, applied: 1, replayed: 1 });
  });
});

/**
 * Drill 7 — fuzz (issue 12): fast-check generates Acme objects and webhook bodies across
 * the whole value space (drills/support/hostile.ts: unicode edge cases and control
 * characters, huge and empty strings, extreme and malformed dates, wrong types, nulls,
 * unknown references, deep nesting) for a fuzzed tenant, sends them SIGNED through the
 * real edge into the real consumers while the sandbox's generator drives two healthy
 * tenants at a steady rate. Invariants:
 *  - no process exits (the drill's process holds edge and consumers: an exit loses the
 *    result; the runners must still be ready at the end);
 *  - every fuzzed record ends in the tables (its version or a newer one) or in the DLQ
 *    with a reason, and every signed delivery is answered 200 (accepted or dead-lettered);
 *  - the healthy tenants keep landing throughout (largest gap between two of their
 *    calendar writes while the generator runs) and end equal to the generator's truth;
 *  - every ledger row balances (received = written + dlq + skipped, each counted by the
 *    runner and the sinks, not computed as a remainder).
 * `npm run drills -- --only fuzz` (full size) or `-- --ci --only fuzz`; FUZZ_RECORDS and
 * FUZZ_SEED override the size and the seed.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { createSecret, signatureHeader } from '../sandbox/src/webhooks/signing.js';
import { readDlq } from '../src/dlq/index.js';
import { HTTP_HEADER_PREFIX } from '../src/dlq/dead-letters.js';
import { createSecretBox } from '../src/tenants/secret-box.js';
import { createTenantRepository } from '../src/tenants/repository.js';
import type { Drill, DrillContext, DrillResult } from './support/drill.js';
import { drainTimeout } from './support/generator-drill.js';
import { hostileActivity, hostileAppointment, hostileContact, malformedBody } from './support/hostile.js';
import { startDrillPipeline } from './support/pipeline.js';
import { createDrillStack } from './support/stack.js';
import { compareWithTruth } from './support/truth.js';

const SIZES = { ci: { records: 300, healthyEvents: 600, rate: 40 }, full: { records: 5_000, healthyEvents: 6_000, rate: 60 } };
const FUZZ_TENANT = 'fuzz-tenant';
const TABLE = { appointment: 'calendar_events', contact: 'contacts', activity: 'activity_facts' } as const;
const ID_COLUMN = { appointment: 'acme_appointment_id', contact: 'acme_id', activity: 'acme_id' } as const;

type Sent =
  | { kind: 'object'; webhookId: string; type: keyof typeof TABLE; id: unknown; version: unknown; status: number; bytes: number; answer: { deadLettered?: boolean; reason?: string } }
  | { kind: 'body'; webhookId: string; status: number; bytes: number; answer: { deadLettered?: boolean; reason?: string } };

export const fuzz: Drill = {
  name: 'fuzz',
  title: 'Generated hostile Acme objects and webhook bodies next to two healthy tenants',
  async run(ctx: DrillContext): Promise<DrillResult> {
    const size = SIZES[ctx.size];
    const records = Number(process.env.FUZZ_RECORDS ?? size.records);
    const seed = Number(process.env.FUZZ_SEED ?? 1207);
    const started = Date.now();
    const stack = await createDrillStack(ctx.env);
    const pipeline = await startDrillPipeline(stack, { consumers: 'in-process', sandbox: { seed, rateLimit: null, webhooks: { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: 30 } } });
    try {
      // The fuzzed tenant: an Acme account with a user and contacts Acme knows.
      const { account, api_key } = pipeline.sandbox.provisionAccount({ name: FUZZ_TENANT });
      const user = pipeline.sandbox.store.createUser(account.id, { name: 'Fuzz Rep', email: 'fuzz@example.com', time_zone: 'Europe/Berlin' });
      const contacts = Array.from({ length: 5 }, (_, i) => pipeline.sandbox.store.create('contact', account.id, { first_name: `C${i}`, last_name: 'Known', email: null, phone: null, company: null }).id);
      const secret = createSecret();
      await createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS)).create({
        id: FUZZ_TENANT, name: FUZZ_TENANT, acmeBaseUrl: pipeline.sandbox.url()!, authKind: 'api_key', acmeAccountId: account.id, secrets: { apiKey: api_key, webhookSecrets: [secret] },
      });

      const run = pipeline.sandbox.startGenerator({
        seed, accounts: 2, users: 3, contacts: 10, events: size.healthyEvents, rate: size.rate, days: 5,
        webhookUrl: `${pipeline.edgeUrl}/webhooks/acme/{account_id}`, autoStart: false,
      });
      await pipeline.connect(run);
      const healthy = run.accounts.map((a) => a.account_id);
      run.start();

      // Healthy tenants keep landing: sample their newest calendar write while the fuzz runs.
      let sampling = true;
      const writes: number[] = [];
      const sampler = (async () => {
        while (sampling) {
          const { rows } = await stack.pool.query<{ at: Date | null }>('SELECT max(updated_at) AS at FROM calendar_events WHERE tenant_id = ANY($1)', [healthy]);
          if (rows[0]?.at) writes.push(rows[0].at.getTime());
          await new Promise((r) => setTimeout(r, 250));
        }
      })();

      const refs = { contactIds: fc.constantFrom(...contacts), userIds: fc.constantFrom(user.id) };
      const typed = fc.oneof(
        hostileAppointment(refs).map((o) => ({ type: 'appointment' as const, o })),
        hostileContact(refs).map((o) => ({ type: 'contact' as const, o })),
        hostileActivity(refs).map((o) => ({ type: 'activity' as const, o })),
      );
      const sample = fc.sample(fc.oneof({ weight: 5, arbitrary: typed }, { weight: 1, arbitrary: malformedBody.map((body) => ({ type: 'body' as const, body })) }), { numRuns: records, seed });
      const sent: Sent[] = [];
      for (const item of sample) {
        const webhookId = `evt_${randomUUID().replace(/-/g, '')}`;
        const body = item.type === 'body'
          ? item.body.toString('utf8')
          : JSON.stringify({ id: webhookId, type: `${item.type}.updated`, account_id: account.id, occurred_at: new Date().toISOString(), data: { object: item.o } });
        const ts = Math.floor(Date.now() / 1000);
        const res = await fetch(`${pipeline.edgeUrl}/webhooks/acme/${FUZZ_TENANT}`, {
          method: 'POST', body,
          headers: { 'content-type': 'application/json', 'webhook-id': webhookId, 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([secret], webhookId, ts, body) },
        });
        const answer = (await res.json().catch(() => ({}))) as { deadLettered?: boolean; reason?: string };
        const bytes = Buffer.byteLength(body);
        sent.push(item.type === 'body' ? { kind: 'body', webhookId, status: res.status, bytes, answer } : { kind: 'object', webhookId, type: item.type, id: (item.o as { id?: unknown }).id, version: (item.o as { version?: unknown }).version, status: res.status, bytes, answer });
      }
      const truth = await run.done;
      await pipeline.settle(run, drainTimeout(ctx.size));
      sampling = false;
      await sampler;

      // Every fuzzed record: in the tables (this version or newer) or in the DLQ with a reason.
      const dlq = await readDlq(stack.kafka, stack.topics.dlq);
      const fuzzDlq = dlq.filter((r) => r.error.tenantId === FUZZ_TENANT);
      const byWebhook = new Set(fuzzDlq.map((r) => r.headers[`${HTTP_HEADER_PREFIX}webhook-id`]).filter(Boolean));
      const byAcmeId = new Set(fuzzDlq.filter((r) => r.error.message !== '').map((r) => r.error.acmeId));
      const statuses = new Map<number, number>();
      let unaccounted = 0;
      let oversize = 0;
      const examples: string[] = [];
      for (const s of sent) {
        statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
        // Above WEBHOOK_MAX_BODY_BYTES a body is refused unread (413): its signature cannot be
        // checked without reading it, so it cannot be told from an attack and is not kept.
        if (s.status === 413 && s.bytes > stack.config.WEBHOOK_MAX_BODY_BYTES) {
          oversize++;
          continue;
        }
        let ok = s.status === 200;
        if (ok && s.answer.deadLettered) ok = byWebhook.has(s.webhookId) || (s.kind === 'object' && typeof s.id === 'string' && byAcmeId.has(s.id));
        else if (ok && s.kind === 'object') {
          const { rows } = await stack.pool.query<{ v: string }>(`SELECT acme_version AS v FROM ${TABLE[s.type]} WHERE tenant_id = $1 AND ${ID_COLUMN[s.type]} = $2`, [FUZZ_TENANT, s.id]);
          ok = byAcmeId.has(s.id as string) || (rows[0] !== undefined && Number(rows[0].v) >= Number(s.version));
        }
        if (!ok) {
          unaccounted++;
          if (examples.length < 3) examples.push(`${s.kind === 'object' ? `${s.type} ${String(s.id).slice(0, 40)}` : 'body'} answered ${s.status}`);
        }
      }
      for (const e of examples) ctx.log(`    unaccounted: ${e}`);
      // The classes of refusal found: code and field (the message names the field first).
      const classes = new Map<string, number>();
      for (const r of fuzzDlq) {
        const cls = `${r.error.code} ${r.error.message.split(':')[0]!.slice(0, 40)}`;
        classes.set(cls, (classes.get(cls) ?? 0) + 1);
      }
      const cmp = await compareWithTruth(stack.pool, truth, healthy);
      for (const e of cmp.examples) ctx.log(`    ${e}`);
      const { rows: ledger } = await stack.pool.query<{ received: string; written: string; dlq: string; skipped: string }>('SELECT received, written, dlq, skipped FROM consumer_ledger');
      const unbalanced = ledger.filter((l) => Number(l.received) !== Number(l.written) + Number(l.dlq) + Number(l.skipped)).length;
      const ready = pipeline.runners.every((r) => r.isReady());
      const healthyDlq = dlq.filter((r) => healthy.includes(r.error.tenantId)).length;
      const gaps = writes.slice(1).map((t, i) => t - writes[i]!).filter((g) => g > 0);
      const maxGapMs = gaps.length ? Math.max(...gaps) : NaN;
      const notes = [
        `${records} fuzzed deliveries (seed ${seed}): ${[...statuses].map(([s, n]) => `${n}×${s}`).join(' ')}, ${sent.filter((s) => s.status === 200 && !s.answer.deadLettered).length} accepted by the edge, ${oversize} above the body limit (413, unread); ${fuzzDlq.length} DLQ records in ${classes.size} classes (${[...classes].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([c, n]) => `${c} ${n}`).join(', ')}); ${unaccounted} unaccounted`,
        `healthy tenants: ${truth.stats.events} changes, ${cmp.calendarRows} calendar rows, ${cmp.touchPoints} touch-points, largest gap between calendar writes ${Math.round(maxGapMs)} ms`,
        `ledger rows ${ledger.length}, unbalanced ${unbalanced}; runners ready ${ready}; exits 0`,
      ].join('; ');
      return {
        drill: 'fuzz', events: records + truth.stats.events, lost: cmp.lost + unaccounted, duplicated: cmp.duplicated, wrong: cmp.wrong,
        dlqExpected: 0, dlqActual: healthyDlq, durationMs: Date.now() - started,
        extraOk: unaccounted === 0 && unbalanced === 0 && ready && (statuses.get(200) ?? 0) + oversize === sent.length && !(maxGapMs > 15_000),
        notes,
      };
    } finally {
      await pipeline.close();
      await stack.close();
    }
  },
};

/**
 * Benchmark 5 — onboarding at scale (issue 17): five tenants each backfilling N records
 * from Acme's sandbox at once, while a sixth tenant sends live changes (signed full-
 * payload appointment webhooks) at a steady rate. Reports the live tenant's webhook →
 * calendar row p50/p99 with the pipeline idle and during the onboarding, and the
 * backfills' total throughput (read from Acme into Kafka, and through the consumers
 * into PostgreSQL).
 *
 * Processes: `acme-sync edge` and `acme-sync consumers` (both flows, both lanes) as child
 * processes, the sender in a third; the backfills run in this process through
 * createPolling (the admin process's poller/backfill half, BACKFILL_CONCURRENCY=5 so all
 * five start at once), against an in-process sandbox with its default per-account rate
 * limit (100 tokens, 20/s) — the sandbox is the only simulated party.
 */
import type { ChildProcess } from 'node:child_process';
import { createSandbox, type Sandbox } from '../sandbox/src/index.js';
import { createLogger } from '../src/logger.js';
import { createPolling } from '../src/processes/admin.js';
import type { BackfillProgress } from '../src/producers/poller/backfill.js';
import { createSecretBox } from '../src/tenants/secret-box.js';
import { createTenantRepository } from '../src/tenants/repository.js';
import type { Benchmark, BenchOptions, BenchResult } from './support/bench.js';
import { freePort, runLoad, startConsumersProcess, startEdgeProcess, stopProcess, waitForReady } from './support/children.js';
import { createDataset } from './support/dataset.js';
import { seedState } from './support/seed.js';
import { childEnv, createBenchStack, type IsolatedStack } from './support/stack.js';
import { num, percentile, sleep } from './support/stats.js';
import { loadTenants } from './webhook-edge.js';

const ONBOARDING_TENANTS = 5;
const LIVE_RATE = 20;
/** Per backfilled tenant: the share of each Acme collection in its N records. */
const MIX = { contact: 0.2, appointment: 0.5, activity: 0.3 };

let runs = 0;

interface Latencies {
  values: number[];
  sent: number;
  failed: number;
  missing: number;
}

/** One open-loop run of the live tenant; waits until every acknowledged appointment is a row. */
async function liveRun(stack: IsolatedStack, edgeUrl: string, tenants: ReturnType<typeof loadTenants>, durationSec: number): Promise<Latencies> {
  const runId = `o${process.pid.toString(36)}x${(++runs).toString(36)}x`;
  const sent = await runLoad({ mode: 'open', url: edgeUrl, tenants, runId, rate: LIVE_RATE, durationSec });
  const deadline = Date.now() + 120_000;
  let rows = new Map<string, number>();
  while (Date.now() < deadline) {
    const { rows: times } = await stack.pool.query<{ id: string; ms: number }>(
      'SELECT acme_appointment_id AS id, (extract(epoch from updated_at) * 1000)::float8 AS ms FROM calendar_events WHERE acme_appointment_id LIKE $1', [`apt_${runId}%`]);
    rows = new Map(times.map((r) => [r.id, r.ms]));
    if (rows.size >= sent.ok) break;
    await sleep(200);
  }
  const values = sent.acked.flatMap(([id, sentAt]) => (rows.has(id) ? [rows.get(id)! - sentAt] : []));
  return { values, sent: sent.ok, failed: sent.failed, missing: sent.ok - values.length };
}

function merge(all: Latencies[]): Latencies & { sorted: number[] } {
  const values = all.flatMap((l) => l.values);
  return { values, sorted: [...values].sort((a, b) => a - b), sent: all.reduce((n, l) => n + l.sent, 0), failed: all.reduce((n, l) => n + l.failed, 0), missing: all.reduce((n, l) => n + l.missing, 0) };
}

/** Acme accounts with N records each, and our tenants for them (API key, the sandbox's URL). */
async function seedOnboarding(stack: IsolatedStack, sandbox: Sandbox, baseUrl: string, perTenant: number): Promise<{ ids: string[]; appointments: number; activities: number }> {
  const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
  const ids: string[] = [];
  const counts = { contact: Math.round(perTenant * MIX.contact), appointment: Math.round(perTenant * MIX.appointment), activity: 0 };
  counts.activity = perTenant - counts.contact - counts.appointment;
  for (let t = 0; t < ONBOARDING_TENANTS; t++) {
    const id = `onb-${t}`;
    const { account, api_key } = sandbox.provisionAccount({ name: id });
    const user = sandbox.store.createUser(account.id, { name: `Rep ${t}`, email: `rep${t}@${id}.example`, time_zone: 'Europe/Berlin' });
    const contacts = Array.from({ length: counts.contact }, (_, i) =>
      sandbox.store.create('contact', account.id, { first_name: `First${i}`, last_name: `Last${t}`, email: `c${i}@${id}.example`, phone: null, company: null }).id);
    for (let i = 0; i < counts.appointment; i++) {
      const starts = Date.parse('2026-12-01T09:00:00Z') + (i % 500) * 1_800_000;
      sandbox.store.create('appointment', account.id, {
        owner_user_id: user.id, contact_id: contacts[i % contacts.length]!, title: `Meeting ${i}`, starts_at: new Date(starts).toISOString(),
        ends_at: new Date(starts + 3_600_000).toISOString(), time_zone: 'Europe/Berlin', location: null,
      });
    }
    for (let i = 0; i < counts.activity; i++) {
      sandbox.store.create('activity', account.id, {
        type: i % 2 === 0 ? 'email' : 'call', direction: 'outbound', user_id: user.id, contact_id: contacts[i % contacts.length]!,
        subject: `Touch ${i}`, occurred_at: '2026-11-20T10:00:00.000Z', duration_seconds: null,
      });
    }
    await tenants.create({ id, name: `Onboarding ${t}`, acmeBaseUrl: baseUrl, authKind: 'api_key', acmeAccountId: account.id, secrets: { apiKey: api_key, webhookSecrets: [] } });
    ids.push(id);
  }
  return { ids, appointments: counts.appointment * ONBOARDING_TENANTS, activities: counts.activity * ONBOARDING_TENANTS };
}

async function historyRows(stack: IsolatedStack, ids: string[]): Promise<{ appointments: number; activities: number }> {
  const { rows } = await stack.pool.query<{ a: string; f: string }>(
    `SELECT (SELECT count(*) FROM calendar_events WHERE tenant_id = ANY($1)) AS a, (SELECT count(*) FROM activity_facts WHERE tenant_id = ANY($1) AND acme_version > 0) AS f`, [ids]);
  return { appointments: Number(rows[0]!.a), activities: Number(rows[0]!.f) };
}

export const onboarding: Benchmark = {
  name: 'onboarding',
  title: '5. Onboarding at scale: five backfills while a sixth tenant sends live changes',
  async run(o: BenchOptions): Promise<BenchResult> {
    const perTenant = o.quick ? 25_000 : 50_000;
    const idleSec = o.quick ? 20 : 60;
    const stack = await createBenchStack(o.env, { BACKFILL_CONCURRENCY: String(ONBOARDING_TENANTS) });
    const sandbox = createSandbox({ seed: 17 });
    let edgeProcess: ChildProcess | undefined;
    let consumers: ChildProcess | undefined;
    let polling: Awaited<ReturnType<typeof createPolling>> | undefined;
    try {
      const baseUrl = await sandbox.listen({ port: 0 });
      const data = createDataset({ tenants: 1, appointments: 0, activities: 0 });
      await seedState(stack, data);
      const live = loadTenants(data);
      o.log(`  onboarding: seeding ${ONBOARDING_TENANTS} Acme accounts with ${num(perTenant)} records each`);
      const seeded = await seedOnboarding(stack, sandbox, baseUrl, perTenant);
      const port = await freePort();
      edgeProcess = startEdgeProcess(childEnv(stack, { EDGE_PORT: String(port) }));
      consumers = startConsumersProcess(childEnv(stack), 'calendar,touchpoints');
      const edgeUrl = `http://127.0.0.1:${port}`;
      await waitForReady(`${edgeUrl}/readyz`);
      polling = await createPolling({ config: stack.config, logger: createLogger({ level: 'warn', name: 'bench-onboarding' }), runtime: stack });
      o.log('  onboarding: warming up the live path');
      await liveRun(stack, edgeUrl, live, 3);

      o.log(`  onboarding: live tenant alone, ${LIVE_RATE}/s for ${idleSec} s`);
      const idle = merge([await liveRun(stack, edgeUrl, live, idleSec)]);

      o.log(`  onboarding: ${ONBOARDING_TENANTS} backfills of ${num(perTenant)} records start, live tenant at ${LIVE_RATE}/s`);
      const started = performance.now();
      const runs = await Promise.all(seeded.ids.map((id) => polling!.backfills.start(id, '2020-01-01')));
      let finished: BackfillProgress[] | undefined;
      let readSec = NaN;
      void Promise.all(runs.map((r) => r.done)).then((all) => {
        finished = all;
        readSec = (performance.now() - started) / 1000;
      });
      let consumedSec = NaN;
      const during: Latencies[] = [];
      /** The same runs split: while the backfills still read from Acme, and after (the consumers draining the history lane). */
      const phases = { reading: [] as Latencies[], draining: [] as Latencies[] };
      // Live runs of 5 s back to back until the history is read from Acme AND written by the consumers.
      for (;;) {
        const reading = finished === undefined;
        const run = await liveRun(stack, edgeUrl, live, 5);
        during.push(run);
        phases[reading ? 'reading' : 'draining'].push(run);
        const rows = await historyRows(stack, seeded.ids);
        if (finished !== undefined && rows.appointments >= seeded.appointments && rows.activities >= seeded.activities) {
          consumedSec = (performance.now() - started) / 1000;
          break;
        }
        if ((performance.now() - started) / 1000 > (o.quick ? 600 : 3_600)) {
          o.log(`  onboarding: gave up waiting (rows ${rows.appointments}/${seeded.appointments} appointments, ${rows.activities}/${seeded.activities} activities)`);
          break;
        }
      }
      const busy = merge(during);
      const total = perTenant * ONBOARDING_TENANTS;
      const failed = (finished ?? []).filter((p) => p.status !== 'succeeded').length;
      const idleP99 = percentile(idle.sorted, 99);
      const busyP99 = percentile(busy.sorted, 99);
      const row = (name: string, l: typeof idle) => [name, num(l.values.length), num(percentile(l.sorted, 50)), num(percentile(l.sorted, 99)), num(l.sorted[l.sorted.length - 1] ?? NaN), `${num(l.failed)} / ${num(l.missing)}`];
      const findings = [
        `${ONBOARDING_TENANTS} tenants × ${num(perTenant)} records (${MIX.contact * 100} % contacts, ${MIX.appointment * 100} % appointments, ${MIX.activity * 100} % activities, plus one user each) backfilled at once from the sandbox (per-account rate limit 100 tokens, 20/s; ACME_LIVE_RESERVE_FRACTION ${stack.config.ACME_LIVE_RESERVE_FRACTION}); BACKFILL_CONCURRENCY=${ONBOARDING_TENANTS}; page size 100; the consumers' history lane at CONSUMER_HISTORY_MAX_RECORDS_PER_SECOND=${process.env.CONSUMER_HISTORY_MAX_RECORDS_PER_SECOND ?? stack.config.CONSUMER_HISTORY_MAX_RECORDS_PER_SECOND} per process (0 = no cap).`,
        `Live tenant: ${LIVE_RATE} webhooks/s (signed full-payload appointments) through acme-sync edge → Kafka → acme-sync consumers; webhook → calendar row p99 ${num(idleP99)} ms idle, ${num(busyP99)} ms during the onboarding (${(busyP99 / idleP99).toFixed(2)}× idle; target ≤ 2×: ${busyP99 <= 2 * idleP99 ? 'met' : 'missed'}).`,
        `Backfills: ${num(total)} records read from Acme into Kafka in ${num(readSec, 1)} s = ${num(total / readSec)} records/s in total${failed > 0 ? ` (${failed} backfills failed)` : ''}; all of them written by the consumers (history lane) after ${num(consumedSec, 1)} s = ${num(total / consumedSec)} records/s end to end. The pace is Acme's rate limit: each account allows 20 pages/s, i.e. ≤ 2,000 records/s per tenant.`,
      ];
      return {
        name: this.name, title: this.title, findings,
        tables: [{
          title: `Live tenant, webhook sent → calendar row (ms), ${LIVE_RATE} webhooks/s`,
          columns: ['phase', 'rows', 'p50 ms', 'p99 ms', 'max ms', 'failed sends / rows missing'],
          rows: [
            row('idle (no backfill)', idle), row(`during ${ONBOARDING_TENANTS} backfills (all)`, busy),
            row('… runs that began while the backfills read from Acme', merge(phases.reading)), row('… runs after: the consumers draining the history lane', merge(phases.draining)),
          ],
        }, {
          title: 'Backfills',
          columns: ['tenants × records', 'read from Acme s', 'records/s read', 'written by consumers s', 'records/s written'],
          rows: [[`${ONBOARDING_TENANTS} × ${num(perTenant)}`, num(readSec, 1), num(total / readSec), num(consumedSec, 1), num(total / consumedSec)]],
        }],
      };
    } finally {
      await polling?.close();
      if (consumers) await stopProcess(consumers);
      if (edgeProcess) await stopProcess(edgeProcess);
      await sandbox.close();
      await stack.close();
    }
  },
};

/**
 * Drill 7 — two-way calendar sync under fire (issue 15): calendar changes stream into
 * calendar.changes.v1 while two `acme-sync consumers --flows writeback` processes write
 * them to the Acme sandbox; Acme answers every request 5xx for a while, loses the answer
 * of some writes after applying them, and a consumer is SIGKILLed every few seconds.
 * Every change sets a unique title, so Acme's truth is exact: each appointment's version
 * must be 1 + its changes (none lost, none applied twice), its title the last change's,
 * and no idempotency key may have been applied twice.
 */
import { randomUUID } from 'node:crypto';
import { createSandbox } from '../sandbox/src/index.js';
import { recordKey } from '../src/kafka/index.js';
import { createInputProducer } from '../test/helpers/isolated-stack.js';
import { createSecretBox } from '../src/tenants/secret-box.js';
import { createTenantRepository } from '../src/tenants/repository.js';
import type { CalendarChange } from '../src/transforms/writeback.js';
import { readDlq } from '../src/dlq/index.js';
import { startConsumerProcesses } from './support/consumer-processes.js';
import type { Drill, DrillContext, DrillResult } from './support/drill.js';
import { childEnv, createDrillStack, sleep } from './support/stack.js';

const SIZES = {
  ci: { tenants: 2, appointments: 10, changesPer: 15, perSecond: 40, outageMs: 8_000, everyMs: 4_000, minKills: 4 },
  full: { tenants: 5, appointments: 40, changesPer: 50, perSecond: 100, outageMs: 60_000, everyMs: 10_000, minKills: 15 },
};

export const writeback: Drill = {
  name: 'writeback',
  title: 'Two-way calendar sync: Acme 5xx for a while, lost write answers, write-back consumers SIGKILLed',
  async run(ctx: DrillContext): Promise<DrillResult> {
    const size = SIZES[ctx.size];
    const started = Date.now();
    const stack = await createDrillStack(ctx.env);
    // Slow answers keep writes in flight, so the SIGKILLs land between Acme's write and our commit.
    const sandbox = createSandbox({ seed: 715, rateLimit: null, faults: { lostAnswer: 0.1, slow: 0.5, slowMs: 150 } });
    const sandboxUrl = await sandbox.listen({ port: 0 });
    const tenants = createTenantRepository(stack.pool, createSecretBox(stack.config.MASTER_KEYS));
    const apts: { tenantId: string; accountId: string; id: string }[] = [];
    for (let t = 0; t < size.tenants; t++) {
      const id = `wb-drill-${t}`;
      const { account, api_key } = sandbox.provisionAccount({ name: id });
      await tenants.create({ id, name: id, acmeBaseUrl: sandboxUrl, authKind: 'api_key', acmeAccountId: account.id, secrets: { apiKey: api_key }, settings: { writeback: { enabled: true, conflictPolicy: 'calendar-wins' } } });
      const user = sandbox.store.createUser(account.id, { name: 'Rep', email: `rep@${id}.test`, time_zone: 'UTC' });
      const contact = sandbox.store.create('contact', account.id, { first_name: 'C', last_name: 'D', email: null, phone: null, company: null });
      for (let a = 0; a < size.appointments; a++) {
        const apt = sandbox.store.create('appointment', account.id, { owner_user_id: user.id, contact_id: contact.id, title: 'v0', starts_at: '2026-12-01T09:00:00.000Z', ends_at: '2026-12-01T10:00:00.000Z', time_zone: 'UTC', location: null });
        apts.push({ tenantId: id, accountId: account.id, id: apt.id });
      }
    }
    const consumers = await startConsumerProcesses(2, (port) => childEnv(stack, { CONSUMER_PORT: String(port), LOG_LEVEL: 'error' }), 'writeback');
    const producer = createInputProducer(stack);
    await producer.connect();
    let kills = 0;
    let outageNote = '';
    try {
      // The calendar: every appointment edited changesPer times, interleaved, at perSecond.
      const changes: CalendarChange[] = [];
      for (let v = 1; v <= size.changesPer; v++) {
        for (const apt of apts) {
          changes.push({
            change_id: randomUUID(), tenant_id: apt.tenantId, acme_id: apt.id, calendar_version: v, base_acme_version: null, changed_at: Date.now(), changed_by: 'drill',
            changed_fields: ['TITLE'], title: `v${v}`, starts_at: null, ends_at: null, time_zone: null, location: null, status: null, correlation_id: null,
          });
        }
      }
      let producing = true;
      const produce = (async () => {
        const batch = Math.max(1, Math.round(size.perSecond / 10));
        for (let i = 0; i < changes.length; i += batch) {
          const slice = changes.slice(i, i + batch);
          // A re-published change now and then (the calendar's own retry): must change nothing.
          const resent = i > 0 && i % (batch * 7) === 0 ? [changes[i - 1]!] : [];
          const messages = await Promise.all([...slice, ...resent].map(async (c) => ({ key: recordKey(c.tenant_id, c.acme_id), value: await stack.codec.encode('calendar_changes', c) })));
          await producer.send({ topic: stack.topics.calendar_changes, acks: -1, messages });
          await sleep(100);
        }
      })().finally(() => (producing = false));
      const outage = (async () => {
        await sleep(size.everyMs);
        sandbox.faults.set({ outage5xx: 1 });
        await sleep(size.outageMs);
        sandbox.faults.set({ outage5xx: 0 });
        outageNote = `every Acme API request answered 5xx for ${size.outageMs / 1000} s`;
      })();
      while (producing || kills < size.minKills) {
        await sleep(size.everyMs);
        const victim = kills % consumers.count;
        await consumers.kill(victim, 500);
        kills++;
        ctx.log(`  ${this.name}: SIGKILL consumer ${victim} (${kills})`);
      }
      await Promise.all([produce, outage]);
      // Drained: Acme has every appointment at its last version, or the time is up.
      const deadline = Date.now() + (ctx.size === 'ci' ? 180_000 : 900_000);
      while (Date.now() < deadline && !apts.every((a) => sandbox.store.get('appointment', a.accountId, a.id)!.title === `v${size.changesPer}`)) await sleep(500);
      await sleep(2_000); // nothing more should arrive; give a late duplicate the chance to show

      let lost = 0;
      let duplicated = 0;
      let wrong = 0;
      for (const a of apts) {
        const acme = sandbox.store.get('appointment', a.accountId, a.id)!;
        const appliedChanges = acme.version - 1;
        if (appliedChanges < size.changesPer) lost += size.changesPer - appliedChanges;
        if (appliedChanges > size.changesPer) duplicated += appliedChanges - size.changesPer;
        if (acme.title !== `v${size.changesPer}`) wrong++;
      }
      const keys = sandbox.context.idempotency.stats();
      duplicated += keys.reduce((n, k) => n + Math.max(0, k.applied - 1), 0);
      const replayed = keys.reduce((n, k) => n + k.replayed, 0);
      const dlq = await readDlq(stack.kafka, stack.topics.dlq);
      const unexpected = consumers.unexpectedExits();
      return {
        drill: this.name, events: changes.length, lost, duplicated, wrong, dlqExpected: 0, dlqActual: dlq.length, durationMs: Date.now() - started,
        extraOk: unexpected === 0 && kills >= size.minKills,
        notes: `${apts.length} appointments × ${size.changesPer} calendar changes (plus re-published ones); ${outageNote}; 10 % of write answers lost after the write, half the answers 150 ms slow (${replayed} idempotent replays); 2 write-back processes, ${kills} SIGKILLs; ${unexpected} unexpected exits`,
      };
    } finally {
      await consumers.stop();
      await producer.disconnect();
      await sandbox.close();
      await stack.close();
    }
  },
};

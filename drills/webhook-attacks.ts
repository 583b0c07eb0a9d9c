/**
 * Drill 5 — webhook attacks against the edge after a normal run: forged signatures,
 * tampered bodies, stale timestamps, one tenant's signature sent to another tenant,
 * oversize bodies and a gzip bomb. Every one must be refused (counted by status) and
 * nothing may reach Kafka (input topics' end offsets unchanged). A correctly signed
 * control request afterwards must be accepted — proof the attacks were refused for
 * what they are, not because the drill signs wrongly.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { signatureHeader } from '../sandbox/src/webhooks/signing.js';
import type { Drill } from './support/drill.js';
import { runGeneratorDrill } from './support/generator-drill.js';
import type { IsolatedStack } from './support/stack.js';

const PER_ATTACK = { ci: 20, full: 200 };

interface Attack {
  name: string;
  expected: number;
  request(): { tenant: string; body: Buffer; headers: Record<string, string> };
}

async function endOffsets(stack: IsolatedStack): Promise<number> {
  let sum = 0;
  for (const kind of ['appointments', 'contacts', 'activities'] as const) {
    for (const p of await stack.admin.fetchTopicOffsets(stack.topics[kind])) sum += Number(p.high);
  }
  return sum;
}

export const webhookAttacks: Drill = {
  name: 'webhook-attacks',
  title: 'Forged, tampered, stale, cross-tenant, oversize and compression-bomb webhooks',
  run: (ctx) => runGeneratorDrill({
    name: 'webhook-attacks',
    seed: 505,
    sizes: { ci: { events: 300, rate: 0, accounts: 2, days: 3 }, full: { events: 2_000, rate: 0, accounts: 2, days: 7 } },
    async after({ stack, pipeline, run, ctx }) {
      const [a, b] = run.accounts;
      const secretA = a!.webhook_subscription!.secret;
      const template = pipeline.sandbox.deliveries.deliveries().find((d) => d.account_id === a!.account_id && d.event_type.startsWith('appointment.'))!;
      const now = () => Math.floor(Date.now() / 1000);
      // A fresh appointment ID per request: had any been accepted, it would show as a new record on Kafka.
      // The envelope's id must equal the webhook-id header (the edge checks it).
      const envelope = (id: string, extra: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({
        ...JSON.parse(template.body.replace(new RegExp(template.object_id, 'g'), `apt_attack_${randomBytes(6).toString('hex')}`)), id, ...extra,
      }));
      type Mutation = { tenant?: string; secret?: string; ts?: number; extra?: Record<string, unknown>; tamper?: (b: Buffer) => Buffer; wire?: (b: Buffer) => Buffer };
      const signed = (m: Mutation = {}) => {
        const id = `evt_${randomUUID().replace(/-/g, "")}`;
        const ts = m.ts ?? now();
        const payload = envelope(id, m.extra);
        const sent = m.wire ? m.wire(payload) : m.tamper ? m.tamper(payload) : payload;
        return {
          tenant: m.tenant ?? a!.account_id, body: sent,
          headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([m.secret ?? secretA], id, ts, payload.toString('utf8')) } as Record<string, string>,
        };
      };
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
      const attacks: Attack[] = [
        { name: 'forged', expected: 401, request: () => signed({ secret: `whsec_${randomBytes(24).toString('base64')}` }) },
        { name: 'tampered', expected: 401, request: () => signed({ tamper: (p) => Buffer.from(p.toString('utf8').replace('apt_attack_', 'apt_attacx_')) }) },
        { name: 'stale', expected: 401, request: () => signed({ ts: now() - 3_600 }) },
        { name: 'cross-tenant', expected: 401, request: () => signed({ tenant: b!.account_id }) },
        { name: 'oversize', expected: 413, request: () => signed({ extra: { pad: 'x'.repeat(stack.config.WEBHOOK_MAX_BODY_BYTES) } }) },
        { name: 'gzip-bomb', expected: 413, request: () => { const r = signed({ wire: () => bomb }); return { ...r, headers: { ...r.headers, 'content-encoding': 'gzip' } }; } },
      ];
      const before = await endOffsets(stack);
      const tally: string[] = [];
      let ok = true;
      for (const attack of attacks) {
        const statuses = new Map<number, number>();
        for (let i = 0; i < PER_ATTACK[ctx.size]; i++) {
          const r = attack.request();
          const res = await fetch(`${pipeline.edgeUrl}/webhooks/acme/${r.tenant}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
          await res.arrayBuffer().catch(() => undefined);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
        ok &&= statuses.size === 1 && statuses.has(attack.expected);
        tally.push(`${attack.name} ${[...statuses].map(([s, n]) => `${n}×${s}`).join('+')}`);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const published = (await endOffsets(stack)) - before;
      const control = signed();
      const controlRes = await fetch(`${pipeline.edgeUrl}/webhooks/acme/${control.tenant}`, { method: 'POST', headers: control.headers, body: new Uint8Array(control.body) });
      const controlStatus = controlRes.status;
      if (controlStatus !== 200) ctx.log(`    control: ${controlStatus} ${await controlRes.text()}`);
      ok &&= published === 0 && controlStatus === 200;
      return { ok, note: `${PER_ATTACK[ctx.size]} of each: ${tally.join(', ')}; ${published} records published by the attacks; correctly signed control answered ${controlStatus}` };
    },
  }, ctx),
};

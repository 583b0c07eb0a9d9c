/**
 * Issue 16: a subscriber in another ecosystem reads our output topics with nothing but
 * the contract (schemas/asyncapi.yaml): Python, Debian's confluent-kafka and Apache Avro,
 * the writer schemas from the registry's Confluent-compatible API. After an end-to-end
 * run (webhooks with duplicates and reordering, bad data, polling), its latest value per
 * key must equal what PostgreSQL holds, and every key must be built as documented.
 *
 * Skips (with a message) when /usr/bin/python3 lacks the Debian packages; `npm test`
 * installs them when it may (scripts/test.sh), as for Chromium and Prometheus.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { startPipeline, type Pipeline } from '../e2e/harness.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('../../examples/python-subscriber/subscriber.py', import.meta.url).pathname;

function pythonReady(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import confluent_kafka, avro.io'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ready = pythonReady();
if (!ready) console.warn('[python-subscriber] /usr/bin/python3 lacks python3-confluent-kafka / python3-avro: skipped (apt-get install -y python3-confluent-kafka python3-avro)');

interface Dump {
  calendar: Record<string, Record<string, unknown>>;
  touchpoints: Record<string, { tenant_id: string; acme_user_id: string; day: string; channel: string; count: number }>;
  stats: { records: number; tombstones: number; key_mismatches: string[] };
}

let stack: IsolatedStack;
let pipeline: Pipeline;
let dump: Dump;
let printed: string;

describe.skipIf(!ready)('the Python subscriber example against an end-to-end run', () => {
  beforeAll(async () => {
    stack = await createIsolatedStack(inject('stack'));
    pipeline = await startPipeline(stack, {
      seed: 1616, rateLimit: null,
      webhooks: { retryBaseMs: 100, retryMaxMs: 1_000, maxAttempts: 30 },
      faults: { duplicate: 0.1, reorder: 0.1, reorderMaxHoldMs: 200, lose: 0.03, badData: 0.03, badDataKinds: ['missing_starts_at', 'unknown_contact'] },
    });
    const run = pipeline.sandbox.startGenerator({
      accounts: 2, users: 3, contacts: 6, events: 300, days: 3,
      webhookUrl: `${pipeline.edgeUrl}/webhooks/acme/{account_id}`, autoStart: false,
    });
    await pipeline.connect(run, { titleTemplate: '{title}' });
    for (const a of run.accounts) await pipeline.poller.pollTenant(a.account_id);
    run.start();
    await run.done;
    pipeline.sandbox.deliveries.flush();
    await pipeline.sandbox.deliveries.waitForIdle(60_000);
    for (const a of run.accounts) expect((await pipeline.poller.reconcileTenant(a.account_id)).error).toBeUndefined();
    await pipeline.drained(90_000);
    // The consumers produce outputs in the transaction that stores their offsets, so once
    // drained every output is acknowledged by Kafka; the subscriber reads up to the end.
    const out = join(mkdtempSync(join(tmpdir(), 'py-sub-')), 'latest.json');
    const { stdout } = await promisify(execFile)(PYTHON, [
      SCRIPT, '--bootstrap', stack.config.KAFKA_BROKERS.join(','), '--registry', stack.config.SCHEMA_REGISTRY_URL,
      '--prefix', stack.config.KAFKA_TOPIC_PREFIX, '--group', `${stack.id}.python`, '--json', out,
    ], { timeout: 60_000 });
    printed = stdout;
    dump = JSON.parse(readFileSync(out, 'utf8')) as Dump;
  }, 240_000);

  afterAll(async () => {
    await pipeline?.close();
    await stack?.close();
  });

  it('decodes every record and finds every key built as the contract documents it', () => {
    expect(dump.stats.records).toBeGreaterThan(0);
    expect(dump.stats.key_mismatches).toEqual([]);
  });

  it('sees the calendar PostgreSQL holds, event by event (title, times, zone, status, user, customer; a version never ahead of the row)', async () => {
    const { rows } = await stack.pool.query(
      `SELECT tenant_id, acme_appointment_id, acme_version, user_id, title, starts_at, ends_at, time_zone, status, customer_name, customer_email, customer_phone FROM calendar_events`,
    );
    expect(rows.length).toBeGreaterThan(10);
    const fromPg = Object.fromEntries(rows.map((r) => [`${r.tenant_id}:${r.acme_appointment_id}`, {
      acme_version: Number(r.acme_version), user_id: r.user_id, title: r.title, starts_at: r.starts_at.getTime(), ends_at: r.ends_at?.getTime() ?? null,
      time_zone: r.time_zone, status: r.status, customer_name: r.customer_name, customer_email: r.customer_email, customer_phone: r.customer_phone,
    }]));
    const fromPython = Object.fromEntries(Object.entries(dump.calendar).map(([key, v]) => [key, {
      acme_version: v.acme_version, user_id: v.user_id, title: v.title, starts_at: v.starts_at, ends_at: v.ends_at,
      time_zone: v.time_zone, status: v.status, customer_name: v.customer_name, customer_email: v.customer_email, customer_phone: v.customer_phone,
    }]));
    // A record is published when a field a subscriber sees changes (issue 14), not for a
    // version that moves only acme_version: the topic's version may trail the row's, never pass it.
    const visible = (m: Record<string, { acme_version: unknown }>) => Object.fromEntries(Object.entries(m).map(([k, { acme_version: _, ...rest }]) => [k, rest]));
    expect(visible(fromPython)).toEqual(visible(fromPg));
    for (const [key, v] of Object.entries(fromPython)) expect(v.acme_version as number, key).toBeLessThanOrEqual(fromPg[key]!.acme_version as number);
  });

  it('sees the touch-point counts PostgreSQL holds, per user, local day and channel', async () => {
    const { rows } = await stack.pool.query<{ tenant_id: string; acme_user_id: string; day: string; channel: string; count: number }>(
      `SELECT tenant_id, acme_user_id, to_char(day, 'YYYY-MM-DD') AS day, channel, count FROM touchpoint_counts`,
    );
    expect(rows.length).toBeGreaterThan(5);
    const fromPg = Object.fromEntries(rows.map((r) => [`${r.tenant_id}:${r.acme_user_id}:${r.day}:${r.channel}`, r.count]));
    const fromPython = Object.fromEntries(Object.entries(dump.touchpoints).map(([key, v]) => [key, v.count]));
    expect(fromPython).toEqual(fromPg);
  });

  it('prints a calendar and a touch-point summary', () => {
    expect(printed).toContain('== Calendar');
    expect(printed).toContain('== Touch-points');
    expect(printed).toMatch(/EMAIL=\d+|PHONE=\d+/);
  });
});

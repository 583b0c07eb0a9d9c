/**
 * The dashboard and the alert rules against a real Prometheus scraping a real pipeline.
 *
 * In-process on the file's isolated stack: the edge (createEdgeServer) and the consumer
 * process of both flows (createConsumers), each on a random port; Acme's sandbox
 * serves the REST API the flows enrich from. Signed webhooks go over HTTP to the edge in
 * two waves (so rates and histogram quantiles see increases between scrapes), with a
 * forged signature, an Acme outage while an appointment needs its contact from Acme
 * (Acme errors and batch retries) and an appointment without a start (a DLQ record).
 * A Prometheus of our own (ops/prometheus/prometheus.yml with the test's targets, a 1 s
 * scrape interval and ops/prometheus/alerts.yml) scrapes /metrics; then every panel
 * query of ops/grafana/dashboards/acme-sync.json (Grafana variables made concrete) and
 * the underlying series of every alert rule (thresholds removed, see promql.ts) must
 * return at least one finite value through /api/v1/query.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { createSecret } from '../../sandbox/src/webhooks/signing.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import type { ConsumerRunner } from '../../src/consumers/runtime/index.js';
import { createMetricsRegistry, type Registry } from '../../src/metrics/index.js';
import { createConsumers } from '../../src/processes/consumers.js';

import { change, produceChanges } from '../consumers/writeback/support.js';
import { startSandbox, seedAccount, type RunningSandbox } from '../acme/sandbox-tenants.js';
import { silent } from '../consumers/support/harness.js';
import { createInputProducer, createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { eventId, metricValue, sign, startEdge, webhookEvent, type TestEdge } from '../producers/webhooks/harness.js';
import { ALERTS_FILE, ROOT, dashboardQueries, readAlertRules, underlyingExpression, withGrafanaVariables } from './promql.js';
import { sandboxOutbound } from '../acme/sandbox-tenants.js';

/** The prometheus binary from PATH (Debian: apt-get install prometheus; CI installs it). */
function hasPrometheus(): boolean {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const available = hasPrometheus();
if (!available) console.warn('test/ops/prometheus.int.test.ts: prometheus is not installed (apt-get install prometheus); skipping');

let stack: IsolatedStack;
let acme: RunningSandbox;
let edge: TestEdge;
let consumers: { metrics: Registry; runners: readonly ConsumerRunner[]; app: FastifyInstance } | undefined;
let prometheus: { url: string; process: ChildProcess; dir: string } | undefined;

const tenantId = `t-ops${Date.now().toString(36)}`;
let secret: string;
let accountId: string;
let seeded: ReturnType<typeof seedAccount>;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const address = (app: FastifyInstance) => `127.0.0.1:${(app.server.address() as AddressInfo).port}`;

// -- Prometheus -------------------------------------------------------------

/** ops/prometheus/prometheus.yml with the integration's jobs pointed at the test's servers. */
async function prometheusConfig(targets: Record<string, string>): Promise<string> {
  const config = parse(await readFile(new URL('ops/prometheus/prometheus.yml', ROOT), 'utf8')) as { global: Record<string, string>; rule_files: string[]; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  const jobs = config.scrape_configs.filter((job) => job.job_name in targets).map((job) => ({ ...job, static_configs: [{ targets: [targets[job.job_name]!] }] }));
  expect(jobs.map((j) => j.job_name).sort()).toEqual(Object.keys(targets).sort());
  return stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, rule_files: [fileURLToPath(ALERTS_FILE)], scrape_configs: jobs });
}

async function startPrometheus(targets: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'acme-sync-prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), await prometheusConfig(targets));
  const listen = `127.0.0.1:${await freePort()}`;
  const child = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const started = { url: `http://${listen}`, process: child, dir };
  prometheus = started;
  await vi.waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    const res = await fetch(`${started.url}/-/ready`);
    if (!res.ok) throw new Error(`prometheus not ready: ${res.status}`);
  }, { timeout: 20_000, interval: 200 });
  return started;
}

async function stopPrometheus(): Promise<void> {
  if (!prometheus) return;
  const { process: child, dir } = prometheus;
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${prometheus!.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] | [number, string] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  const { resultType, result } = body.data!;
  return resultType === 'scalar' ? [{ metric: {}, value: result as [number, string] }] : (result as Sample[]);
}

const isFinite = (s: Sample) => Number.isFinite(Number(s.value[1]));

/** What Prometheus has scraped of a sum, once it reached at least `min`. */
async function scraped(expr: string, min: number): Promise<number> {
  return vi.waitFor(async () => {
    const value = Number((await query(expr))[0]?.value[1] ?? Number.NaN);
    if (!(value >= min)) throw new Error(`${expr} = ${value}, waiting for ${min}`);
    return value;
  }, { timeout: 30_000, interval: 200 });
}

// -- the pipeline ------------------------------------------------------------

async function startConsumers(): Promise<NonNullable<typeof consumers>> {
  const metrics = createMetricsRegistry({ service: 'acme-sync-consumers', collectDefault: false });
  const app = await createConsumers({
    config: stack.config, logger: silent, runtime: stack, metrics, groupIdOf: (flow) => `${stack.id}.${flow}`, dashboard: false, flows: ['calendar', 'touchpoints', 'writeback'],
    acme: acmeClientsFor({ tenants: edge.app.tenantRepository, metrics, outbound: sandboxOutbound(), retry: { retries: 1, initialDelayMs: 50, maxDelayMs: 100, deadlineMs: 1_000 } }),
    tenantCacheTtlMs: 1_000, runner: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, retry: { initialDelayMs: 100, maxDelayMs: 300 } },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  consumers = { metrics, runners: app.consumerRunners, app };
  return consumers;
}

const TOPIC_OF: Record<string, string> = { appointment: 'appointments', contact: 'contacts', activity: 'activities' };
let accepted = 0;
const acceptedByTopic: Record<string, number> = {};
let firstDeliveryAt = Infinity;
let lastDeliveryAt = 0;
async function deliver(type: string, object: object, secrets = [secret]): Promise<number> {
  firstDeliveryAt = Math.min(firstDeliveryAt, Date.now());
  const delivery = sign(webhookEvent(eventId(), type, { object }, accountId), secrets);
  const res = await fetch(`http://${address(edge.app)}/webhooks/acme/${tenantId}`, { method: 'POST', headers: delivery.headers, body: delivery.body });
  if (res.status === 200) {
    accepted++;
    const topic = TOPIC_OF[type.split('.')[0]!]!;
    acceptedByTopic[topic] = (acceptedByTopic[topic] ?? 0) + 1;
    lastDeliveryAt = Date.now();
  }
  return res.status;
}

/** Calendar changes for write-back (issue 15): consumed records too, not webhooks. */
async function writeBack(title: string, calendarVersion: number): Promise<void> {
  const producer = createInputProducer(stack);
  await producer.connect();
  try {
    await produceChanges(stack, producer, [change({ tenant_id: tenantId, acme_id: seeded.appointments[0]!.id, calendar_version: calendarVersion, changed_fields: ['TITLE'], title })]);
    accepted++;
  } finally {
    await producer.disconnect();
  }
}

const consumed = () => metricValue(consumers!.metrics, 'acme_sync_consumer_records_total', {}).then(async (all) => all - (await metricValue(consumers!.metrics, 'acme_sync_consumer_records_total', { outcome: 'fenced' })));

async function allConsumed(): Promise<void> {
  await vi.waitFor(async () => expect(await consumed()).toBe(accepted), { timeout: 30_000, interval: 200 });
}

beforeAll(async () => {
  if (!available) return;
  stack = await createIsolatedStack(inject('stack'), { PRODUCER_LINGER_MS: '5' });
  acme = await startSandbox();
  const { account, api_key } = acme.sandbox.provisionAccount({ name: tenantId });
  accountId = account.id;
  seeded = seedAccount(acme.sandbox, accountId, { contacts: 4, appointments: 3, activities: 4 });
  edge = await startEdge(stack, { tenantCacheTtlMs: 500 });
  await edge.app.listen({ host: '127.0.0.1', port: 0 });
  secret = createSecret();
  await edge.app.tenantRepository.create({ id: tenantId, name: tenantId, acmeBaseUrl: acme.baseUrl, authKind: 'api_key', acmeAccountId: accountId, secrets: { apiKey: api_key, webhookSecrets: [secret] }, settings: { writeback: { enabled: true } } });
  await startConsumers();
  await startPrometheus({ 'acme-sync-edge': address(edge.app), 'acme-sync-consumers': address(consumers!.app) });
  await scraped('count(up{job=~"acme-sync-.*"} == 1)', 2);

  // Wave 1: contacts, an activity (its user comes from Acme), a forged delivery.
  const [c0, c1, c2, c3] = seeded.contacts;
  const [apt0, apt1, apt2] = seeded.appointments;
  const [act0, act1, act2, act3] = seeded.activities;
  expect(await deliver('contact.created', c0!)).toBe(200);
  expect(await deliver('contact.created', c1!)).toBe(200);
  expect(await deliver('activity.created', act0!)).toBe(200);
  expect(await deliver('appointment.created', apt0!)).toBe(200);
  expect(await deliver('contact.updated', { ...c0!, version: 2 }, [createSecret()])).toBe(401);
  await writeBack('Written back', 1);
  await allConsumed();
  await scraped('sum(acme_sync_consumer_records_total)', accepted);

  // Acme down while an appointment needs its contact (c2 never came by webhook).
  acme.sandbox.faults.set({ outage5xx: 1 });
  expect(await deliver('appointment.created', { ...apt1!, contact_id: c2!.id })).toBe(200);
  // Until Prometheus saw the errors grow: what a series counted before its first scrape
  // is no increase to rate(), and an error ratio would be 0/0.
  await scraped('sum(increase(acme_sync_acme_api_requests_total{outcome="server_error"}[1m]))', 1);
  await scraped('sum(increase(acme_sync_consumer_retries_total[1m]))', 1);
  acme.sandbox.faults.set({ outage5xx: 0 });
  await allConsumed();

  // Wave 2: more of everything, an appointment without a start (DLQ), another forgery.
  expect(await deliver('contact.created', c3!)).toBe(200);
  expect(await deliver('appointment.created', apt2!)).toBe(200);
  expect(await deliver('appointment.updated', { ...apt0!, version: 2, title: 'Moved' })).toBe(200);
  for (const activity of [act1, act2, act3]) expect(await deliver('activity.created', activity!)).toBe(200);
  expect(await deliver('appointment.created', { ...apt2!, id: 'apt_ops_bad', starts_at: null })).toBe(200);
  expect(await deliver('activity.updated', { ...act1!, version: 2 }, [createSecret()])).toBe(401);
  await writeBack('Written back again', 2);
  await allConsumed();
  expect(await metricValue(consumers!.metrics, 'acme_sync_consumer_dlq_records_total', { stage: 'validate' })).toBe(1);

  // Prometheus has the final values, and a few scrapes after them.
  await scraped('sum(acme_sync_consumer_records_total{outcome!="fenced"})', accepted);
  const seenAt = Number((await query('time()'))[0]!.value[1]);
  await scraped('min(timestamp(up{job=~"acme-sync-.*"}))', seenAt + 2);
}, 150_000);

afterAll(async () => {
  await stopPrometheus();
  await consumers?.app.close();
  await edge?.app.close();
  await acme?.sandbox.close();
  await stack?.close();
});

describe.skipIf(!available)('Prometheus scraping a running pipeline', () => {
  it('has data for every query of every dashboard panel', async () => {
    const queries = dashboardQueries();
    const empty: { panel: string; expr: string; result: Sample[] }[] = [];
    for (const q of queries) {
      const expr = withGrafanaVariables(q.expr);
      const result = await query(expr);
      if (!result.some(isFinite)) empty.push({ panel: `${q.panel} (${q.refId})`, expr, result });
    }
    expect(queries.length).toBeGreaterThanOrEqual(15);
    expect(empty).toEqual([]);
  });

  it('has data for the underlying series (thresholds removed) of every alert rule', async () => {
    const rules = readAlertRules();
    const empty: { alert: string; expr: string; result: Sample[] }[] = [];
    for (const rule of rules) {
      const expr = underlyingExpression(rule.expr);
      const result = await query(expr);
      if (!result.some(isFinite)) empty.push({ alert: rule.alert, expr, result });
    }
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(empty).toEqual([]);
  });

  it('counts every accepted webhook once as a published event, by topic kind and source', async () => {
    const published = await query('sum by (topic, source) (acme_sync_events_published_total)');
    expect(Object.fromEntries(published.map((s) => [`${s.metric.topic}/${s.metric.source}`, Number(s.value[1])]))).toEqual(
      Object.fromEntries(Object.entries(acceptedByTopic).map(([topic, n]) => [`${topic}/webhook`, n])),
    );
  });

  it("knows each tenant's freshness per flow: the received_at of the newest event it synced", async () => {
    const freshness = await query(`acme_sync_tenant_last_synced_timestamp_seconds{tenant="${tenantId}"}`);
    expect(freshness.map((s) => s.metric.flow).sort()).toEqual(['calendar', 'touchpoints']);
    for (const sample of freshness) {
      // received_at is set by the edge between our first send and our last answer (ms precision).
      expect(Number(sample.value[1])).toBeGreaterThanOrEqual(Math.floor(firstDeliveryAt / 1000));
      expect(Number(sample.value[1])).toBeLessThanOrEqual(lastDeliveryAt / 1000);
    }
  });

  it('sees one ready member in each consumer group, both lanes', async () => {
    const ready = await query('sum by (group) (acme_sync_consumer_runner_ready)');
    expect(Object.fromEntries(ready.map((s) => [s.metric.group, Number(s.value[1])]))).toEqual({
      [`${stack.id}.calendar`]: 1, [`${stack.id}.touchpoints`]: 1, [`${stack.id}.writeback`]: 1,
      // The history lane's groups (issue 17).
      [`${stack.id}.calendar.history`]: 1, [`${stack.id}.touchpoints.history`]: 1,
    });
  });

  it('loads every alert rule and evaluates each without an error', async () => {
    const res = await fetch(`${prometheus!.url}/api/v1/rules?type=alert`);
    const body = (await res.json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] } };
    const rules = body.data.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.name).sort()).toEqual(readAlertRules().map((r) => r.alert).sort());
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
  });
});

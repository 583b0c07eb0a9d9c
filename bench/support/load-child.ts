/**
 * The load generator, run as a SECOND process (bench/support/children.ts spawns it)
 * so the edge under test does not share its event loop with the client:
 *  - closed: autocannon with N connections for D seconds (throughput, latency);
 *  - open:   a fixed-rate sender (requests leave on schedule whatever the answers,
 *            no coordinated omission), recording each appointment's send time.
 * Input: one JSON argument; output: one JSON line on stdout.
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { createWebhookFactory, type LoadTenant } from './webhooks.js';

export type LoadJob =
  | { mode: 'closed'; url: string; tenants: LoadTenant[]; runId: string; connections: number; durationSec: number }
  | { mode: 'open'; url: string; tenants: LoadTenant[]; runId: string; rate: number; durationSec: number };

export interface ClosedResult {
  requestsPerSec: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export interface OpenResult {
  sent: number;
  ok: number;
  failed: number;
  /** Achieved send rate (requests scheduled per second). */
  rate: number;
  /** [appointment ID, send time epoch ms, ack latency ms] of every 2xx answer. */
  acked: [string, number, number][];
  /** Epoch ms of the last request sent (the end of the load; answers may come later). */
  lastSentAt: number;
}

async function closed(job: Extract<LoadJob, { mode: 'closed' }>): Promise<ClosedResult> {
  const next = createWebhookFactory(job.tenants, job.runId);
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationSec,
    timeout: 10,
    requests: [{ method: 'POST', setupRequest: (request) => {
      const w = next();
      return { ...request, method: 'POST', path: w.path, headers: w.headers, body: w.body };
    } }],
  });
  return {
    requestsPerSec: result['2xx'] / result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
  };
}

async function open(job: Extract<LoadJob, { mode: 'open' }>): Promise<OpenResult> {
  const next = createWebhookFactory(job.tenants, job.runId);
  const target = new URL(job.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const acked: [string, number, number][] = [];
  let sent = 0;
  let failed = 0;
  let lastSentAt = NaN;
  const inFlight = new Set<Promise<void>>();
  const send = () => {
    const w = next();
    const sentAt = Date.now();
    lastSentAt = sentAt;
    const t0 = performance.now();
    sent++;
    const p = new Promise<void>((resolve) => {
      const req = http.request({ host: target.hostname, port: target.port, path: w.path, method: 'POST', headers: w.headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== undefined && res.statusCode < 300) acked.push([w.appointmentId, sentAt, performance.now() - t0]);
          else failed++;
          resolve();
        });
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(w.body);
    }).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const started = performance.now();
  const total = Math.round(job.rate * job.durationSec);
  await new Promise<void>((resolve) => {
    // Every tick sends what the schedule says is due by now: the rate holds even when answers are slow.
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * job.rate));
      while (sent < due) send();
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  const elapsed = (performance.now() - started) / 1000;
  await Promise.all([...inFlight]);
  agent.destroy();
  return { sent, ok: acked.length, failed, rate: sent / elapsed, acked, lastSentAt };
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
const result = job.mode === 'closed' ? await closed(job) : await open(job);
process.stdout.write(`${JSON.stringify(result)}\n`);

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ALERTS_FILE, ROOT, dashboardQueries, readAlertRules, readDashboard, underlyingExpression, withGrafanaVariables } from './promql.js';

const run = promisify(execFile);

/** promtool from PATH; absent on a machine without Prometheus' tools (CI installs them). */
async function promtool(): Promise<string | undefined> {
  try {
    await run('promtool', ['--version']);
    return 'promtool';
  } catch {
    return undefined;
  }
}

const tool = await promtool();
if (!tool) console.warn('test/ops/rules.test.ts: promtool is not installed (apt-get install prometheus); skipping the promtool checks');

describe.skipIf(!tool)('the Prometheus files, checked by promtool', () => {
  const cwd = fileURLToPath(ROOT);

  it('accepts the alert rules', async () => {
    const { stdout } = await run(tool!, ['check', 'rules', fileURLToPath(ALERTS_FILE)], { cwd });
    expect(stdout).toContain('SUCCESS');
  });

  it('passes the alert rules unit tests: each alert fires on its situation and stays silent on a similar healthy one', async () => {
    const { stdout } = await run(tool!, ['test', 'rules', 'ops/prometheus/alerts.test.yml'], { cwd });
    expect(stdout).toContain('SUCCESS');
  });

  it('accepts the scrape configuration with its rule file', async () => {
    const { stdout } = await run(tool!, ['check', 'config', 'ops/prometheus/prometheus.yml'], { cwd });
    expect(stdout).toContain('SUCCESS');
  });
});

describe('alert rules', () => {
  const rules = readAlertRules();

  it('each wait a while, carry a severity and explain themselves with a runbook hint', () => {
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
      expect(['page', 'ticket'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook, rule.alert).toContain(`docs/OPERATIONS.md#${rule.alert.toLowerCase()}`);
    }
  });

  it('cover DLQ growth, lag growth, signature failures, Acme failing, stale tenants, groups without members and the ledger', () => {
    const text = rules.map((r) => r.expr).join('\n');
    for (const metric of [
      'acme_sync_consumer_records_total{outcome="dlq"}', 'acme_sync_consumer_lag_records', 'bad_signature', 'acme_sync_acme_api_requests_total',
      'acme_sync_tenant_last_synced_timestamp_seconds', 'acme_sync_consumer_runner_ready', 'acme_sync_consumer_ledger_imbalance_total',
    ]) expect(text).toContain(metric);
  });

  it('write every threshold as a comparison with a literal, which the underlying series drops', () => {
    for (const rule of rules) {
      const underlying = underlyingExpression(rule.expr);
      expect(underlying, rule.alert).not.toBe(rule.expr.replace(/\s+/g, ' ').trim());
      expect(underlying, rule.alert).not.toMatch(/(==|!=|>=|<=|>|<)\s*(bool\s+)?[-+]?[\d.]/);
      expect(underlying, rule.alert).not.toMatch(/\d\s*(==|!=|>=|<=|>|<)/);
    }
  });
});

describe('the underlying series of a rule', () => {
  it('drops comparisons with number literals and keeps everything else', () => {
    expect(underlyingExpression('up{job=~"acme-sync-.*"} == 0')).toBe('up{job=~"acme-sync-.*"}');
    expect(underlyingExpression('sum by (flow) (lag) > 1000\nand sum by (flow) (delta(lag[10m])) > 0')).toBe('sum by (flow) (lag) and sum by (flow) (delta(lag[10m]))');
    expect(underlyingExpression('a / b > bool 2.5e-1')).toBe('a / b');
    expect(underlyingExpression('time() - max(x) > 21600')).toBe('time() - max(x)');
  });

  it('leaves label matchers, strings and vector-to-vector comparisons alone', () => {
    expect(underlyingExpression('x{code!="5", le=">1"} > y')).toBe('x{code!="5", le=">1"} > y');
    expect(underlyingExpression('rate(x[5m]) offset 1m')).toBe('rate(x[5m]) offset 1m');
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = readDashboard();
  const queries = dashboardQueries(dashboard);

  it('queries the provisioned Prometheus through its data source variable', () => {
    expect(dashboard.templating?.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
    expect(queries.length).toBeGreaterThanOrEqual(15);
    for (const q of queries) expect(q.expr, q.panel).not.toBe('');
  });

  it('shows throughput, latency, lag, the DLQ, errors and per-tenant freshness', () => {
    const text = queries.map((q) => q.expr).join('\n');
    for (const metric of [
      'acme_sync_webhooks_total', 'acme_sync_events_published_total', 'acme_sync_consumer_records_total', 'acme_sync_webhook_duration_seconds_bucket',
      'acme_sync_consumer_end_to_end_seconds_bucket', 'acme_sync_consumer_db_write_seconds_bucket', 'acme_sync_consumer_lag_records',
      'acme_sync_consumer_dlq_records_total', 'acme_sync_acme_api_requests_total', 'acme_sync_consumer_retries_total', 'acme_sync_tenant_last_synced_timestamp_seconds',
    ]) expect(text).toContain(metric);
  });

  it('leaves no Grafana variable in a query once the interval variables are made concrete', () => {
    for (const q of queries) expect(withGrafanaVariables(q.expr), q.panel).not.toContain('$');
  });
});

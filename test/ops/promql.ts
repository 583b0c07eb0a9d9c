/**
 * What the ops tests do with PromQL text: the queries of the Grafana dashboard with
 * Grafana's variables made concrete, and an alert rule's "underlying series".
 *
 * The underlying series of a rule is its expression with every threshold removed: a
 * comparison of an expression with a number literal (`x > 0.25`, `x == 0`,
 * `x > bool 1`) becomes `x`. Comparisons between two vectors are kept (they are not
 * thresholds); alerts.yml writes every threshold with the literal on the right. So
 * `a > 1000 and b > 0` becomes `a and b`: it has data exactly when every series the
 * alert looks at has data, whatever the thresholds.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const ROOT = new URL('../../', import.meta.url);
export const ALERTS_FILE = new URL('ops/prometheus/alerts.yml', ROOT);
export const DASHBOARD_FILE = new URL('ops/grafana/dashboards/acme-sync.json', ROOT);

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function readAlertRules(): AlertRule[] {
  const doc = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: { rules: (AlertRule | { record: string })[] }[] };
  return doc.groups.flatMap((g) => g.rules).filter((r): r is AlertRule => 'alert' in r);
}

const COMPARISON = /^\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?(?![\w.])/;

/** The expression with its threshold comparisons removed (see the file comment). */
export function underlyingExpression(expr: string): string {
  let out = '';
  let depth = 0; // inside {...} label matchers or [...] ranges nothing is a comparison
  for (let i = 0; i < expr.length; ) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' ? 2 : 1;
      out += expr.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    if (c === '}' || c === ']') depth--;
    const threshold = depth === 0 ? COMPARISON.exec(expr.slice(i)) : null;
    if (threshold) {
      i += threshold[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out.replace(/\s+/g, ' ').trim();
}

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: { refId?: string; expr?: string }[];
}

export function readDashboard(): { panels: Panel[]; templating?: { list: { name: string; type: string }[] } } {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'));
}

/** Every target of every panel, rows' nested panels included. */
export function dashboardQueries(dashboard = readDashboard()): PanelQuery[] {
  const all = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...all(p.panels ?? [])]);
  return all(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '(untitled)', refId: t.refId ?? '?', expr: t.expr ?? '' })));
}

/**
 * Grafana's interval variables as concrete durations. With a 1 s scrape interval
 * Grafana's $__rate_interval would be 4 s; five minutes keep every sample of the test
 * (slow on a busy machine too) in the window, as a dashboard's range keeps a real
 * incident in it.
 */
export const GRAFANA_VARIABLES: Readonly<Record<string, string>> = { __rate_interval: '5m', __interval: '15s', __range: '15m' };

export function withGrafanaVariables(expr: string, variables = GRAFANA_VARIABLES): string {
  return expr.replace(/\$\{?(__\w+?)(?::\w+)?\}?(?![\w])/g, (whole, name: string) => variables[name] ?? whole);
}

/**
 * The settings page's pictures and its paged DLQ list (issue 16), served as
 * /settings/assets/activity.js next to settings.js, under the same CSP (script-src 'self',
 * style-src 'self': no inline style, so colours come from classes in the stylesheet).
 * Charts are inline SVG built with createElementNS; every server string is written with
 * textContent (tenant data, error messages: untrusted). settings.ts says when a tenant
 * signed in (event `acme-sync:signed-in`, detail.tenantId); the token is the one it keeps
 * in sessionStorage. The charts are charts.ts (served next to it as charts.js).
 */

import { stackedBars, type Series } from './charts.js';

const TOKEN_KEY = 'acme-sync.admin-token';
const PAGE_SIZE = 50;

interface Activity {
  perHour: { hour: string; calendar: number; contacts: number; activities: number }[];
  dlqPerDay: { day: string; byStage: Record<string, number>; replayed: number }[];
}
interface Entry {
  entity: string; recordId: string; version: number; stage: string; code: string; message: string; recordedBy: string; createdAt: string;
}
interface EntriesPage { total: number; limit: number; next: string | null; data: Entry[] }

function el(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error('settings page: no element #' + id);
  return found;
}
function input(id: string): HTMLInputElement | HTMLSelectElement {
  const found = el(id);
  if (found instanceof HTMLInputElement || found instanceof HTMLSelectElement) return found;
  throw new Error('settings page: #' + id + ' is not a field');
}

const view: { tenantId: string | null; cursors: (string | null)[]; filter: URLSearchParams } = { tenantId: null, cursors: [null], filter: new URLSearchParams() };

async function get<T>(suffix: string): Promise<T | { error: string }> {
  if (!view.tenantId) return { error: 'not signed in' };
  const res = await fetch('/admin/tenants/' + encodeURIComponent(view.tenantId) + suffix, { headers: { authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) } });
  const body = await res.json().catch(() => null) as { error?: { message?: string } } | null;
  if (!res.ok) return { error: body?.error?.message || 'Request failed (' + res.status + ')' };
  return body as T;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function loadActivity(): Promise<void> {
  const res = await get<Activity>('/activity?hours=48&days=14');
  if ('error' in res) { el('activity-error').textContent = 'Could not load the activity: ' + res.error; return; }
  el('activity-error').textContent = '';
  const hours = res.perHour.map((h) => h.hour);
  const perHour: Series[] = [
    { name: 'Calendar events', cls: 'c0', values: res.perHour.map((h) => h.calendar) },
    { name: 'Contacts', cls: 'c1', values: res.perHour.map((h) => h.contacts) },
    { name: 'Activities', cls: 'c2', values: res.perHour.map((h) => h.activities) },
  ];
  stackedBars(el('chart-hours'), 'chart-hours-svg', hours, perHour,
    (h, i) => (i % (el('chart-hours').clientWidth < 500 ? 16 : 12) === 0 ? h.slice(5, 10) + ' ' + h.slice(11, 13) + 'h' : null),
    sum(perHour.map((s) => sum(s.values))) + ' changes synced in the last 48 hours (UTC).');
  const stages = [...new Set(res.dlqPerDay.flatMap((d) => Object.keys(d.byStage)))].sort();
  const perDay: Series[] = stages.map((stage, i) => ({ name: 'Failed at ' + stage, cls: 's' + (i % 6), values: res.dlqPerDay.map((d) => d.byStage[stage] ?? 0) }));
  perDay.push({ name: 'Replayed', cls: 'replayed', values: res.dlqPerDay.map((d) => d.replayed) });
  stackedBars(el('chart-dlq'), 'chart-dlq-svg', res.dlqPerDay.map((d) => d.day), perDay,
    (d, i) => (i % 2 === 0 ? d.slice(5) : null),
    sum(perDay.slice(0, -1).map((s) => sum(s.values))) + ' records went to the dead-letter queue and ' + sum(perDay.at(-1)!.values) + ' were replayed in the last 14 days (UTC).');
}

// ---- the paged DLQ list ----
/** data-label names the column when a phone shows a row as a card (activity-css.ts). */
function cell(row: HTMLTableRowElement, label: string, text: string, cls?: string): void {
  const td = row.insertCell();
  td.textContent = text;
  td.dataset.label = label;
  if (cls) td.className = cls;
}

async function loadPage(): Promise<void> {
  const query = new URLSearchParams(view.filter);
  query.set('limit', String(PAGE_SIZE));
  const cursor = view.cursors.at(-1);
  if (cursor) query.set('cursor', cursor);
  const res = await get<EntriesPage>('/dlq/entries?' + query.toString());
  const body = el('dlq-rows');
  if ('error' in res) { el('dlq-page-status').textContent = res.error; body.replaceChildren(); return; }
  const rows = res.data.map((e) => {
    const tr = document.createElement('tr');
    cell(tr, 'When', new Date(e.createdAt).toLocaleString());
    cell(tr, 'Record', e.entity + ' ' + e.recordId + (e.version ? ' v' + e.version : ''), 'mono');
    cell(tr, 'Stage', e.stage);
    cell(tr, 'Code', e.code, 'mono');
    cell(tr, 'Reason', e.message, 'msg');
    return tr;
  });
  body.replaceChildren(...rows);
  const first = (view.cursors.length - 1) * PAGE_SIZE;
  el('dlq-page-status').textContent = res.total === 0 ? 'No records.' : 'Records ' + (first + 1) + '–' + (first + res.data.length) + ' of ' + res.total + ', newest first.';
  (el('dlq-newer') as HTMLButtonElement).disabled = view.cursors.length === 1;
  const older = el('dlq-older') as HTMLButtonElement;
  older.disabled = res.next === null;
  older.dataset.next = res.next ?? '';
}

function applyFilter(event: SubmitEvent): void {
  event.preventDefault();
  view.filter = new URLSearchParams();
  for (const [name, id] of [['code', 'dlqp-code'], ['stage', 'dlqp-stage'], ['entity', 'dlqp-entity']] as const) {
    const value = input(id).value.trim();
    if (value) view.filter.set(name, name === 'code' ? value.toUpperCase() : value);
  }
  view.cursors = [null];
  void loadPage();
}

document.addEventListener('acme-sync:signed-in', (event) => {
  view.tenantId = (event as CustomEvent<{ tenantId: string }>).detail.tenantId;
  view.cursors = [null];
  void loadActivity();
  void loadPage();
});
el('dlqp-filter').addEventListener('submit', (event) => applyFilter(event));
el('dlq-older').addEventListener('click', () => {
  const next = el('dlq-older').dataset.next;
  if (next) { view.cursors.push(next); void loadPage(); }
});
el('dlq-newer').addEventListener('click', () => {
  if (view.cursors.length > 1) { view.cursors.pop(); void loadPage(); }
});
el('activity-refresh').addEventListener('click', () => void loadActivity());
export {};

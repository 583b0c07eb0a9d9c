/**
 * The touch-point dashboard's script (/settings/assets/touchpoints.js, issue 16): the
 * reference for "count touch-points on our dashboard". It uses the admin token the
 * settings page keeps in sessionStorage (same origin), or asks for one; it reads
 * /admin/tenants/:id/touchpoints for the chosen range and draws a stacked bar per day
 * (emails, calls) for all users or one, and the tables behind it. User names and emails
 * come from Acme: written with textContent only.
 */
import { stackedBars } from './charts.js';

const TOKEN_KEY = 'acme-sync.admin-token';
const DEFAULT_DAYS = 14;
const DAY_MS = 86_400_000;

interface User { acmeUserId: string; name: string | null; email: string | null; userId: string | null; EMAIL: number; PHONE: number }
interface Row { acmeUserId: string; day: string; EMAIL: number; PHONE: number }
interface Dashboard { from: string; to: string; moreUsers: number; users: User[]; rows: Row[] }

function el(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (!found) throw new Error('touch-point page: no element #' + id);
  return found;
}
function field(id: string): HTMLInputElement | HTMLSelectElement {
  const found = el(id);
  if (found instanceof HTMLInputElement || found instanceof HTMLSelectElement) return found;
  throw new Error('touch-point page: #' + id + ' is not a field');
}

const state: { tenantId: string | null; data: Dashboard | null } = { tenantId: null, data: null };

async function api<T>(path: string): Promise<{ ok: true; data: T } | { ok: false; status: number; message: string }> {
  const res = await fetch(path, { headers: { authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY) } });
  const body = await res.json().catch(() => null) as (T & { error?: { message?: string } }) | null;
  if (!res.ok) return { ok: false, status: res.status, message: body?.error?.message || 'Request failed (' + res.status + ')' };
  return { ok: true, data: body as T };
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z'); t += DAY_MS) days.push(isoDay(t));
  return days;
}

function label(u: User): string {
  return u.name || u.email || u.acmeUserId;
}

function cell(row: HTMLTableRowElement, name: string, text: string | number): void {
  const td = row.insertCell();
  td.textContent = String(text);
  td.dataset.label = name;
}

function render(): void {
  const data = state.data;
  if (!data) return;
  const selected = field('tp-user').value;
  const byId = new Map(data.users.map((u) => [u.acmeUserId, u]));
  const rows = data.rows.filter((r) => !selected || r.acmeUserId === selected);
  const days = daysBetween(data.from, data.to);
  const sumOf = (channel: 'EMAIL' | 'PHONE') => days.map((d) => rows.filter((r) => r.day === d).reduce((s, r) => s + r[channel], 0));
  const email = sumOf('EMAIL');
  const phone = sumOf('PHONE');
  const who = selected ? label(byId.get(selected)!) : 'all users';
  const total = email.reduce((a, b) => a + b, 0) + phone.reduce((a, b) => a + b, 0);
  stackedBars(el('tp-chart'), 'tp-chart-svg', days, [
    { name: 'Emails', cls: 'c0', values: email },
    { name: 'Calls', cls: 'c2', values: phone },
  ], (d, i) => (i % Math.max(1, Math.ceil(days.length / (el('tp-chart').clientWidth < 500 ? 5 : 10))) === 0 ? d.slice(5) : null),
  total + ' touch-points of ' + who + ' from ' + data.from + ' to ' + data.to + '.');
  el('tp-days').replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    cell(tr, 'Day', r.day);
    cell(tr, 'User', label(byId.get(r.acmeUserId) ?? { acmeUserId: r.acmeUserId, name: null, email: null, userId: null, EMAIL: 0, PHONE: 0 }));
    cell(tr, 'Emails', r.EMAIL);
    cell(tr, 'Calls', r.PHONE);
    return tr;
  }));
}

async function load(event?: SubmitEvent): Promise<void> {
  event?.preventDefault();
  const from = field('tp-from').value;
  const to = field('tp-to').value;
  el('tp-error').textContent = '';
  const res = await api<Dashboard>('/admin/tenants/' + encodeURIComponent(state.tenantId!) + '/touchpoints?' + new URLSearchParams({ from, to }).toString());
  if (!res.ok) { el('tp-error').textContent = res.message; return; }
  state.data = res.data;
  const select = field('tp-user');
  const keep = select.value;
  const options = res.data.users.map((u) => {
    const option = document.createElement('option');
    option.value = u.acmeUserId;
    option.textContent = label(u);
    return option;
  });
  const all = document.createElement('option');
  all.value = '';
  all.textContent = 'All users';
  select.replaceChildren(all, ...options);
  select.value = res.data.users.some((u) => u.acmeUserId === keep) ? keep : '';
  el('tp-users').replaceChildren(...res.data.users.map((u) => {
    const tr = document.createElement('tr');
    cell(tr, 'User', label(u));
    cell(tr, 'Acme user', u.acmeUserId);
    cell(tr, 'Our user', u.userId ?? '—');
    cell(tr, 'Emails', u.EMAIL);
    cell(tr, 'Calls', u.PHONE);
    return tr;
  }));
  el('tp-more').textContent = res.data.moreUsers > 0 ? res.data.moreUsers + ' more users with fewer touch-points are not shown.' : '';
  render();
}

async function start(): Promise<void> {
  if (!sessionStorage.getItem(TOKEN_KEY)) { el('tp-sign-in').hidden = false; field('tp-token').focus(); return; }
  const res = await api<{ data: { id: string; name: string }[] }>('/admin/tenants');
  if (!res.ok) {
    if (res.status === 401) sessionStorage.removeItem(TOKEN_KEY);
    el('tp-sign-in').hidden = false;
    return;
  }
  const wanted = new URLSearchParams(location.search).get('tenant');
  const tenant = res.data.data.find((t) => t.id === wanted) ?? res.data.data[0];
  if (!tenant) { el('tp-sign-in').hidden = false; return; }
  state.tenantId = tenant.id;
  el('tenant-name').textContent = tenant.name + ' (' + tenant.id + ')';
  el('tp-sign-in').hidden = true;
  el('tp-app').hidden = false;
  const today = Date.now();
  field('tp-from').value = isoDay(today - (DEFAULT_DAYS - 1) * DAY_MS);
  field('tp-to').value = isoDay(today);
  await load();
}

el('tp-token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = field('tp-token').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  void start();
});
el('tp-form').addEventListener('submit', (event) => void load(event));
field('tp-user').addEventListener('change', render);
void start();

/**
 * The settings page's script, served as /settings/assets/settings.js (an ES module,
 * type-checked with the DOM library; loaded under the page's CSP `script-src 'self'`).
 * It talks to the admin API with the customer's tenant token and writes every server
 * string with textContent, never parsed as markup: names, messages and DLQ payloads come from
 * Acme and are untrusted. No imports: the browser loads this one file.
 */

// The token lives in sessionStorage, not in a cookie: the admin API authenticates by the
// Authorization header only, so a page on another site cannot make the browser send it
// (a cookie would be attached to cross-site requests: CSRF). sessionStorage is per tab
// and gone when the tab closes, so a shared computer does not keep it.
const TOKEN_KEY = 'acme-sync.admin-token';
const POLL_MS = 1000;

// ---- what the admin API answers (src/admin/schemas.ts) ----
interface TenantSettings {
  defaultTimeZone: string;
  titleTemplate: string;
  touchpointTypes: { email: string[]; phone: string[] };
  userMapping: { overrides: Record<string, string> };
  writeback: { enabled: boolean; conflictPolicy: string; fields: Record<WritebackField, boolean> };
}
type WritebackField = 'title' | 'time' | 'location' | 'status';
interface Tenant {
  id: string;
  name: string;
  authKind: 'oauth' | 'api_key';
  status: string;
  webhookSubscriptionId: string | null;
  secretsSet: { oauth: boolean; apiKey: boolean };
  settings: TenantSettings;
}
interface SyncStatus {
  status: string;
  connected: boolean;
  lastWebhookAt: string | null;
  lastPollAt: string | null;
  freshnessSeconds: number | null;
  dlqCount: number;
  errors: { at: string; source: string; message: string }[];
}
interface BackfillProgress {
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  queuePosition?: number | null;
  pages: number;
  records: number;
  byType?: Record<string, number>;
  error?: string | null;
}
interface DlqRecord {
  id: string;
  timestamp: string | number;
  replayCount: number;
  error: { code: string; stage: string; message: string; acmeId?: string | null; time?: string | number | null; attempts: number };
}
interface DlqDetail extends DlqRecord {
  payload: unknown;
  decodeError?: string | null;
}
interface DlqList {
  data: DlqRecord[];
  count: number;
  truncated: boolean;
}
interface ReplayReport {
  total: number;
  byOutcome: Record<string, number>;
}
interface ApiError {
  error?: { code?: string; message?: string; field?: string };
}
/** A 2xx carries the route's answer; anything else the admin API's error body (or nothing). */
type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; data: ApiError | null };
type Failed = Extract<ApiResult<unknown>, { ok: false }>;

// ---- the page's elements (html.ts); a missing one is a bug, said at once ----
function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error('settings page: no element #' + id);
  return el;
}
function field(id: string): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  const el = $(id);
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) return el;
  throw new Error('settings page: #' + id + ' is not a form field');
}
function checkbox(id: string): HTMLInputElement {
  const el = $(id);
  if (el instanceof HTMLInputElement && el.type === 'checkbox') return el;
  throw new Error('settings page: #' + id + ' is not a checkbox');
}
function button(id: string): HTMLButtonElement {
  const el = $(id);
  if (el instanceof HTMLButtonElement) return el;
  throw new Error('settings page: #' + id + ' is not a button');
}
function progressBar(id: string): HTMLProgressElement {
  const el = $(id);
  if (el instanceof HTMLProgressElement) return el;
  throw new Error('settings page: #' + id + ' is not a progress bar');
}

const state: {
  token: string | null;
  tenant: Tenant | null;
  listed: string[];
  dryRunOf: string | null;
  backfillTimer: ReturnType<typeof setInterval> | undefined;
  arrival: string | null;
} = { token: sessionStorage.getItem(TOKEN_KEY), tenant: null, listed: [], dryRunOf: null, backfillTimer: undefined, arrival: null };

/** The signed-in tenant; the sections that use it are shown only after sign-in. */
function tenant(): Tenant {
  if (!state.tenant) throw new Error('settings page: not signed in');
  return state.tenant;
}

function announce(message: string): void {
  const el = $('announcer');
  // Clearing first makes a repeated message be announced again.
  el.textContent = '';
  setTimeout(() => { el.textContent = message; }, 50);
}

function tenantPath(suffix: string): string {
  return '/admin/tenants/' + encodeURIComponent(tenant().id) + suffix;
}

async function api<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { authorization: 'Bearer ' + state.token };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    signOut('Your token was not accepted. Enter it again.');
    throw new Error('unauthorized');
  }
  return res.ok ? { ok: true, status: res.status, data: data as T } : { ok: false, status: res.status, data: data as ApiError | null };
}

function errorText(res: Failed): string {
  return res.data?.error?.message || ('Request failed (' + res.status + ')');
}

// ---- inline field errors: the server's 400 {error: {field, message}} is the truth ----
const FIELD_INPUTS: ReadonlyArray<readonly [field: string, inputId: string]> = [
  ['settings.defaultTimeZone', 'time-zone'],
  ['settings.titleTemplate', 'title-template'],
  ['settings.touchpointTypes.email', 'email-types'],
  ['settings.touchpointTypes.phone', 'phone-types'],
  ['settings.touchpointTypes', 'email-types'],
  ['settings.userMapping', 'overrides'],
  ['settings.writeback', 'wb-policy'],
  ['body.apiKey', 'api-key'],
  ['credentials', 'api-key'],
  ['body.since', 'backfill-since'],
];

function inputForField(field: string): string | null {
  const hit = FIELD_INPUTS.find(([prefix]) => field === prefix || field.startsWith(prefix + '.'));
  return hit ? hit[1] : null;
}

function showFieldError(inputId: string, message: string): void {
  const input = $(inputId);
  const error = $(inputId + '-error');
  const label = document.querySelector('label[for="' + inputId + '"]');
  error.textContent = (label ? label.textContent + ': ' : '') + message;
  error.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

function clearFieldErrors(form: HTMLElement): void {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const error of form.querySelectorAll<HTMLElement>('.error')) { error.hidden = true; error.textContent = ''; }
}

/** Shows a 400 next to its field; anything else is announced. */
function reportFailure(res: Failed, what: string): void {
  const err = res.data?.error;
  const inputId = err?.field ? inputForField(err.field) : null;
  if (res.status === 400 && err?.field && err.message && inputId) {
    // The message starts with the field's path; the label says it better.
    const message = err.message.startsWith(err.field + ': ') ? err.message.slice(err.field.length + 2) : err.message;
    showFieldError(inputId, message + ' (' + err.field + ')');
    announce(what + ' failed: ' + message);
  } else {
    announce(what + ' failed: ' + errorText(res));
  }
}

// ---- formatting ----
function ago(seconds: number): string {
  if (seconds < 60) return seconds + ' s';
  if (seconds < 3600) return Math.round(seconds / 60) + ' min';
  if (seconds < 86400) return Math.round(seconds / 3600) + ' h';
  return Math.round(seconds / 86400) + ' days';
}

function when(iso: string | null): string {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return new Date(iso).toLocaleString() + ' (' + ago(seconds) + ' ago)';
}

function fact(dl: HTMLElement, term: string, value: string | number): void {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = String(value);
  div.append(dt, dd);
  dl.append(div);
}

// ---- sign in / out ----
function signOut(message: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.tenant = null;
  clearInterval(state.backfillTimer);
  $('app').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  const error = $('token-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('token').toggleAttribute('aria-invalid', Boolean(message));
  field('token').value = '';
  $('token').focus();
}

async function signIn(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const token = field('token').value.trim();
  if (!token) return showFieldError('token', 'enter your admin token');
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  await loadTenant();
}

async function loadTenant(): Promise<void> {
  let res: ApiResult<{ data: Tenant[] }>;
  try { res = await api('GET', '/admin/tenants'); } catch { return; }
  if (!res.ok) return announce('Could not load your account: ' + errorText(res));
  const wanted = new URLSearchParams(location.search).get('tenant');
  const found = res.data.data.find((t) => t.id === wanted) || res.data.data[0];
  if (!found) return signOut('This token has no tenant.');
  state.tenant = found;
  const tenant = found;
  // activity.ts (the charts and the paged DLQ list) loads for this tenant.
  document.dispatchEvent(new CustomEvent('acme-sync:signed-in', { detail: { tenantId: found.id } }));
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  $('tenant-name').textContent = tenant.name + ' (' + tenant.id + ')';
  renderConnection(tenant);
  fillMapping(tenant.settings);
  fillWriteback(tenant.settings);
  await refreshStatus();
  announce(state.arrival || ('Signed in as ' + tenant.name + '.'));
  state.arrival = null;
  $('connection-h').scrollIntoView({ block: 'nearest' });
}

// ---- connection ----
function renderConnection(tenant: Tenant, status?: SyncStatus): void {
  const connected = status ? status.connected : tenant.webhookSubscriptionId !== null && (tenant.authKind === 'oauth' ? tenant.secretsSet.oauth : tenant.secretsSet.apiKey);
  $('connection-state').textContent = (connected ? 'Connected' : 'Not connected') + (tenant.authKind === 'oauth' ? ' (OAuth)' : ' (API key)');
  $('connection-state').className = connected ? 'ok' : 'bad';
  $('oauth-connect').hidden = tenant.authKind !== 'oauth';
  $('oauth-button').textContent = connected ? 'Reconnect with Acme' : 'Connect with Acme';
  $('api-key-form').hidden = tenant.authKind !== 'api_key';
}

async function connectOAuth(): Promise<void> {
  announce('Opening Acme…');
  const res = await api<{ url: string }>('GET', tenantPath('/oauth/link'));
  if (!res.ok) return announce('Could not connect: ' + errorText(res));
  location.assign(res.data.url);
}

async function saveApiKey(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearFieldErrors(form);
  const apiKey = field('api-key').value.trim();
  if (!apiKey) return showFieldError('api-key', 'enter the API key from your Acme account');
  announce('Checking the key with Acme…');
  const res = await api<{ tenant: Tenant }>('POST', tenantPath('/activate'), { apiKey });
  if (!res.ok) return reportFailure(res, 'Activation');
  field('api-key').value = '';
  state.tenant = res.data.tenant;
  announce('Connected to Acme; the first backfill has started.');
  await refreshStatus();
  watchBackfill();
}

// ---- status ----
async function refreshStatus(): Promise<SyncStatus | undefined> {
  const res = await api<SyncStatus>('GET', tenantPath('/status'));
  if (!res.ok) return void announce('Could not load the status: ' + errorText(res));
  renderStatus(res.data);
  return res.data;
}

function renderStatus(s: SyncStatus): void {
  const current = tenant();
  current.status = s.status;
  renderConnection(current, s);
  $('st-status').textContent = s.status === 'active' ? 'Active' : 'Paused';
  $('st-status').className = s.status === 'active' ? 'ok' : 'bad';
  $('st-webhook').textContent = when(s.lastWebhookAt);
  $('st-poll').textContent = when(s.lastPollAt);
  $('st-freshness').textContent = s.freshnessSeconds === null ? 'nothing synced yet' : 'last change synced ' + ago(s.freshnessSeconds) + ' ago';
  $('st-dlq').textContent = String(s.dlqCount);
  const list = $('st-errors');
  list.replaceChildren();
  for (const e of s.errors) {
    const li = document.createElement('li');
    li.textContent = new Date(e.at).toLocaleString() + ' — ' + e.source + ': ' + e.message;
    list.append(li);
  }
  if (s.errors.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'None.';
    list.append(li);
  }
  $('pause').hidden = s.status !== 'active';
  $('resume').hidden = s.status === 'active';
}

async function setPaused(paused: boolean): Promise<void> {
  const res = await api<unknown>('POST', tenantPath(paused ? '/pause' : '/resume'));
  if (!res.ok) return announce('Could not ' + (paused ? 'pause' : 'resume') + ': ' + errorText(res));
  await refreshStatus();
  // The clicked button is now hidden: keep keyboard focus on its counterpart.
  $(paused ? 'resume' : 'pause').focus();
  announce(paused ? 'Sync paused.' : 'Sync resumed.');
}

// ---- mapping ----
function fillMapping(settings: TenantSettings): void {
  field('time-zone').value = settings.defaultTimeZone;
  field('title-template').value = settings.titleTemplate;
  field('email-types').value = settings.touchpointTypes.email.join(', ');
  field('phone-types').value = settings.touchpointTypes.phone.join(', ');
  field('overrides').value = Object.entries(settings.userMapping.overrides).map(([a, b]) => a + ' = ' + b).join('\n');
}

function listOf(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** "usr_1 = anna" lines; the server validates the IDs, this only splits them. */
function overridesOf(text: string): { error: string } | { overrides: Record<string, string> } {
  const out: Record<string, string> = {};
  const lines = text.split('\n').map((l) => l.trim());
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    const at = line.indexOf('=');
    if (at < 0) return { error: 'line ' + (i + 1) + ' needs "Acme user ID = our user ID"' };
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return { overrides: out };
}

async function saveMapping(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearFieldErrors(form);
  const parsed = overridesOf(field('overrides').value);
  if ('error' in parsed) return showFieldError('overrides', parsed.error);
  const settings = {
    defaultTimeZone: field('time-zone').value.trim(),
    titleTemplate: field('title-template').value,
    touchpointTypes: { email: listOf(field('email-types').value), phone: listOf(field('phone-types').value) },
    userMapping: { overrides: parsed.overrides },
  };
  const res = await api<Tenant>('PATCH', tenantPath(''), { settings });
  if (!res.ok) return reportFailure(res, 'Saving the mapping');
  state.tenant = res.data;
  fillMapping(res.data.settings);
  announce('Mapping saved.');
}

// ---- two-way calendar sync (issue 15) ----
const WB_FIELDS: readonly WritebackField[] = ['title', 'time', 'location', 'status'];

function fillWriteback(settings: TenantSettings): void {
  const wb = settings.writeback;
  checkbox('wb-enabled').checked = wb.enabled;
  field('wb-policy').value = wb.conflictPolicy;
  for (const f of WB_FIELDS) checkbox('wb-' + f).checked = wb.fields[f];
}

async function saveWriteback(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  clearFieldErrors(event.currentTarget as HTMLFormElement);
  const fields = Object.fromEntries(WB_FIELDS.map((f) => [f, checkbox('wb-' + f).checked])) as Record<WritebackField, boolean>;
  const writeback = { enabled: checkbox('wb-enabled').checked, conflictPolicy: field('wb-policy').value, fields };
  const res = await api<Tenant>('PATCH', tenantPath(''), { settings: { writeback } });
  if (!res.ok) return reportFailure(res, 'Saving two-way sync');
  state.tenant = res.data;
  fillWriteback(res.data.settings);
  announce(writeback.enabled ? 'Two-way sync saved: on.' : 'Two-way sync saved: off.');
}

// ---- backfill ----
function renderBackfill(p: BackfillProgress): void {
  $('backfill-progress').hidden = false;
  const bar = progressBar('backfill-bar');
  const parts = Object.entries(p.byType || {}).map(([type, n]) => type + ' ' + n).join(', ');
  if (p.status === 'queued') {
    bar.removeAttribute('value');
    // Onboarding at scale (issue 17): a few backfills run at once, the others wait their turn.
    $('backfill-text').textContent = 'Queued: ' + (p.queuePosition ? 'number ' + p.queuePosition + ' in line' : 'waiting') + ' for a free backfill slot; live changes are synced meanwhile.';
  } else if (p.status === 'running') {
    bar.removeAttribute('value');
    $('backfill-text').textContent = 'Running: ' + p.pages + ' pages, ' + p.records + ' records' + (parts ? ' (' + parts + ')' : '') + '.';
  } else {
    bar.max = 1;
    bar.value = 1;
    $('backfill-text').textContent = (p.status === 'succeeded' ? 'Done: ' : 'Failed: ') + p.records + ' records' + (parts ? ' (' + parts + ')' : '') + (p.error ? '. ' + p.error : '.');
  }
}

function watchBackfill(): void {
  clearInterval(state.backfillTimer);
  const tick = async (): Promise<void> => {
    const res = await api<BackfillProgress>('GET', tenantPath('/backfill'));
    if (!res.ok) return;
    renderBackfill(res.data);
    if (res.data.status !== 'running' && res.data.status !== 'queued') {
      clearInterval(state.backfillTimer);
      announce(res.data.status === 'succeeded' ? 'Backfill done: ' + res.data.records + ' records.' : 'Backfill failed: ' + (res.data.error || 'unknown error'));
      await refreshStatus();
    }
  };
  state.backfillTimer = setInterval(tick, POLL_MS);
  void tick();
}

async function startBackfill(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const form = event.currentTarget as HTMLFormElement;
  clearFieldErrors(form);
  const since = field('backfill-since').value;
  const res = await api<BackfillProgress>('POST', tenantPath('/backfill'), since ? { since } : {});
  if (!res.ok) return reportFailure(res, 'Starting the backfill');
  announce('Backfill started.');
  renderBackfill(res.data);
  watchBackfill();
}

// ---- dead-letter queue ----
async function listDlq(event?: SubmitEvent): Promise<void> {
  if (event) event.preventDefault();
  clearFieldErrors($('dlq-filter'));
  const query = new URLSearchParams();
  const code = field('dlq-code').value.trim();
  if (code) query.set('code', code);
  if (field('dlq-stage').value) query.set('stage', field('dlq-stage').value);
  const qs = query.toString();
  const res = await api<DlqList>('GET', tenantPath('/dlq') + (qs ? '?' + qs : ''));
  if (!res.ok) {
    if (res.status === 400 && res.data?.error?.field === 'querystring.code') return showFieldError('dlq-code', 'use the upper-case code, for example VALIDATION_FAILED');
    return announce('Could not read the dead-letter queue: ' + errorText(res));
  }
  state.listed = res.data.data.map((r) => r.id);
  state.dryRunOf = null;
  button('dlq-replay').disabled = true;
  $('dlq-detail').hidden = true;
  const list = $('dlq-list');
  list.replaceChildren();
  for (const r of res.data.data) list.append(recordItem(r));
  const n = res.data.count;
  $('dlq-count').textContent = n === 0 ? 'No records.' : n + (n === 1 ? ' record' : ' records') + (res.data.truncated ? ', newest ' + res.data.data.length + ' shown.' : '.');
  announce($('dlq-count').textContent);
}

function recordItem(r: DlqRecord): HTMLLIElement {
  const li = document.createElement('li');
  const title = document.createElement('p');
  const strong = document.createElement('strong');
  strong.textContent = r.error.code + ' at ' + r.error.stage;
  title.append(strong);
  const message = document.createElement('p');
  message.textContent = r.error.message;
  const meta = document.createElement('p');
  meta.className = 'hint';
  meta.textContent = (r.error.acmeId || 'unknown Acme ID') + ' · ' + new Date(r.timestamp).toLocaleString() + ' · record ' + r.id + (r.replayCount ? ' · replayed ' + r.replayCount + '×' : '');
  const show = document.createElement('button');
  show.type = 'button';
  show.className = 'secondary';
  show.textContent = 'Show';
  show.setAttribute('aria-label', 'Show record ' + r.id);
  show.addEventListener('click', () => showRecord(r.id));
  li.append(title, message, meta, show);
  return li;
}

async function showRecord(id: string): Promise<void> {
  const res = await api<DlqDetail>('GET', tenantPath('/dlq/' + encodeURIComponent(id)));
  if (!res.ok) return announce('Could not open record ' + id + ': ' + errorText(res));
  const r = res.data;
  $('dlq-detail-h').textContent = 'Record ' + r.id;
  const facts = $('dlq-detail-facts');
  facts.replaceChildren();
  fact(facts, 'Error', r.error.code + ': ' + r.error.message);
  fact(facts, 'Stage', r.error.stage);
  fact(facts, 'Acme ID', r.error.acmeId || 'unknown');
  fact(facts, 'Failed at', r.error.time ? new Date(r.error.time).toLocaleString() : 'unknown');
  fact(facts, 'Attempts', r.error.attempts);
  fact(facts, 'Replayed', r.replayCount + ' times');
  if (r.decodeError) fact(facts, 'Could not decode', r.decodeError);
  $('dlq-detail-payload').textContent = typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload, null, 2);
  $('dlq-detail').hidden = false;
  $('dlq-detail').focus();
  announce('Showing record ' + r.id + '.');
}

async function replay(dryRun: boolean): Promise<void> {
  if (state.listed.length === 0) return announce('Nothing to replay: show the records first.');
  const res = await api<ReplayReport>('POST', tenantPath('/dlq/replay'), { ids: state.listed, dryRun });
  if (!res.ok) return announce('Replay failed: ' + errorText(res));
  const report = res.data;
  $('dlq-report-h').textContent = dryRun ? 'Dry run report' : 'Replay report';
  const facts = $('dlq-report-facts');
  facts.replaceChildren();
  fact(facts, 'Selected', report.total);
  for (const [outcome, n] of Object.entries(report.byOutcome)) if (n > 0) fact(facts, outcome.replace(/-/g, ' '), n);
  $('dlq-report').hidden = false;
  // A replay needs a dry run of exactly the records listed now.
  state.dryRunOf = dryRun ? state.listed.join(',') : null;
  button('dlq-replay').disabled = !dryRun;
  const summary = Object.entries(report.byOutcome).filter(([, n]) => n > 0).map(([o, n]) => o + ' ' + n).join(', ') || 'nothing selected';
  announce((dryRun ? 'Dry run: ' : 'Replay: ') + summary + '.');
  if (dryRun) $('dlq-replay').focus();
  else await refreshStatus();
}

// ---- start ----
function timeZones(): void {
  const list = $('time-zones');
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  for (const z of zones) {
    const option = document.createElement('option');
    option.value = z;
    list.append(option);
  }
}

function returnedFromAcme(): void {
  const params = new URLSearchParams(location.search);
  // Announced once the page has loaded the tenant (a later message would replace it).
  if (params.has('connected')) state.arrival = 'Connected to Acme.';
  if (params.has('oauth_error')) state.arrival = 'Connecting to Acme failed: ' + params.get('oauth_error');
  if (params.has('connected') || params.has('oauth_error')) history.replaceState(null, '', location.pathname);
}

$('token-form').addEventListener('submit', (event) => void signIn(event));
$('sign-out').addEventListener('click', () => signOut(''));
$('oauth-button').addEventListener('click', connectOAuth);
$('api-key-form').addEventListener('submit', (event) => void saveApiKey(event));
$('pause').addEventListener('click', () => setPaused(true));
$('resume').addEventListener('click', () => setPaused(false));
$('refresh').addEventListener('click', async () => { if (await refreshStatus()) announce('Status refreshed.'); });
$('mapping-form').addEventListener('submit', (event) => void saveMapping(event));
$('writeback-form').addEventListener('submit', (event) => void saveWriteback(event));
$('backfill-form').addEventListener('submit', (event) => void startBackfill(event));
$('dlq-filter').addEventListener('submit', (event) => void listDlq(event));
$('dlq-dry-run').addEventListener('click', () => replay(true));
$('dlq-replay').addEventListener('click', () => { if (state.dryRunOf === state.listed.join(',')) void replay(false); });
timeZones();
returnedFromAcme();
if (state.token) void loadTenant(); else $('token').focus();
export {};

/**
 * The settings page's script (a vanilla ES module served as /settings/assets/settings.js;
 * no build step). It talks to the admin API with the customer's tenant token and writes
 * every server string with textContent, never innerHTML: names, messages and DLQ
 * payloads come from Acme and are untrusted.
 */
export const SETTINGS_JS = String.raw`
// The token lives in sessionStorage, not in a cookie: the admin API authenticates by the
// Authorization header only, so a page on another site cannot make the browser send it
// (a cookie would be attached to cross-site requests: CSRF). sessionStorage is per tab
// and gone when the tab closes, so a shared computer does not keep it.
const TOKEN_KEY = 'acme-sync.admin-token';
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

const state = { token: sessionStorage.getItem(TOKEN_KEY), tenant: null, listed: [], dryRunOf: null, backfillTimer: null, arrival: null };

function announce(message) {
  const el = $('announcer');
  // Clearing first makes a repeated message be announced again.
  el.textContent = '';
  setTimeout(() => { el.textContent = message; }, 50);
}

function tenantPath(suffix) {
  return '/admin/tenants/' + encodeURIComponent(state.tenant.id) + suffix;
}

async function api(method, path, body) {
  const headers = { authorization: 'Bearer ' + state.token };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) {
    signOut('Your token was not accepted. Enter it again.');
    throw new Error('unauthorized');
  }
  return { ok: res.ok, status: res.status, data };
}

function errorText(res) {
  return (res.data && res.data.error && res.data.error.message) || ('Request failed (' + res.status + ')');
}

// ---- inline field errors: the server's 400 {error: {field, message}} is the truth ----
const FIELD_INPUTS = [
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

function inputForField(field) {
  const hit = FIELD_INPUTS.find(([prefix]) => field === prefix || field.startsWith(prefix + '.'));
  return hit ? hit[1] : null;
}

function showFieldError(inputId, message) {
  const input = $(inputId);
  const error = $(inputId + '-error');
  const label = document.querySelector('label[for="' + inputId + '"]');
  error.textContent = (label ? label.textContent + ': ' : '') + message;
  error.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

function clearFieldErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  for (const error of form.querySelectorAll('.error')) { error.hidden = true; error.textContent = ''; }
}

/** Shows a 400 next to its field; anything else is announced. */
function reportFailure(res, what) {
  const err = res.data && res.data.error;
  const inputId = err && err.field ? inputForField(err.field) : null;
  if (res.status === 400 && inputId) {
    // The message starts with the field's path; the label says it better.
    const message = err.message.startsWith(err.field + ': ') ? err.message.slice(err.field.length + 2) : err.message;
    showFieldError(inputId, message + ' (' + err.field + ')');
    announce(what + ' failed: ' + message);
  } else {
    announce(what + ' failed: ' + errorText(res));
  }
}

// ---- formatting ----
function ago(seconds) {
  if (seconds < 60) return seconds + ' s';
  if (seconds < 3600) return Math.round(seconds / 60) + ' min';
  if (seconds < 86400) return Math.round(seconds / 3600) + ' h';
  return Math.round(seconds / 86400) + ' days';
}

function when(iso) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return new Date(iso).toLocaleString() + ' (' + ago(seconds) + ' ago)';
}

function fact(dl, term, value) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = term;
  dd.textContent = String(value);
  div.append(dt, dd);
  dl.append(div);
}

// ---- sign in / out ----
function signOut(message) {
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
  $('token').value = '';
  $('token').focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  if (!token) return showFieldError('token', 'enter your admin token');
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  await loadTenant();
}

async function loadTenant() {
  let res;
  try { res = await api('GET', '/admin/tenants'); } catch { return; }
  if (!res.ok) return announce('Could not load your account: ' + errorText(res));
  const wanted = new URLSearchParams(location.search).get('tenant');
  const tenant = res.data.data.find((t) => t.id === wanted) || res.data.data[0];
  if (!tenant) return signOut('This token has no tenant.');
  state.tenant = tenant;
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
function renderConnection(tenant, status) {
  const connected = status ? status.connected : tenant.webhookSubscriptionId !== null && (tenant.authKind === 'oauth' ? tenant.secretsSet.oauth : tenant.secretsSet.apiKey);
  $('connection-state').textContent = (connected ? 'Connected' : 'Not connected') + (tenant.authKind === 'oauth' ? ' (OAuth)' : ' (API key)');
  $('connection-state').className = connected ? 'ok' : 'bad';
  $('oauth-connect').hidden = tenant.authKind !== 'oauth';
  $('oauth-button').textContent = connected ? 'Reconnect with Acme' : 'Connect with Acme';
  $('api-key-form').hidden = tenant.authKind !== 'api_key';
}

async function connectOAuth() {
  announce('Opening Acme…');
  const res = await api('GET', tenantPath('/oauth/link'));
  if (!res.ok) return announce('Could not connect: ' + errorText(res));
  location.assign(res.data.url);
}

async function saveApiKey(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  const apiKey = $('api-key').value.trim();
  if (!apiKey) return showFieldError('api-key', 'enter the API key from your Acme account');
  announce('Checking the key with Acme…');
  const res = await api('POST', tenantPath('/activate'), { apiKey });
  if (!res.ok) return reportFailure(res, 'Activation');
  $('api-key').value = '';
  state.tenant = res.data.tenant;
  announce('Connected to Acme; the first backfill has started.');
  await refreshStatus();
  watchBackfill();
}

// ---- status ----
async function refreshStatus() {
  const res = await api('GET', tenantPath('/status'));
  if (!res.ok) return announce('Could not load the status: ' + errorText(res));
  renderStatus(res.data);
  return res.data;
}

function renderStatus(s) {
  state.tenant.status = s.status;
  renderConnection(state.tenant, s);
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

async function setPaused(paused) {
  const res = await api('POST', tenantPath(paused ? '/pause' : '/resume'));
  if (!res.ok) return announce('Could not ' + (paused ? 'pause' : 'resume') + ': ' + errorText(res));
  await refreshStatus();
  // The clicked button is now hidden: keep keyboard focus on its counterpart.
  $(paused ? 'resume' : 'pause').focus();
  announce(paused ? 'Sync paused.' : 'Sync resumed.');
}

// ---- mapping ----
function fillMapping(settings) {
  $('time-zone').value = settings.defaultTimeZone;
  $('title-template').value = settings.titleTemplate;
  $('email-types').value = settings.touchpointTypes.email.join(', ');
  $('phone-types').value = settings.touchpointTypes.phone.join(', ');
  $('overrides').value = Object.entries(settings.userMapping.overrides).map(([a, b]) => a + ' = ' + b).join('\n');
}

function listOf(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

/** "usr_1 = anna" lines; the server validates the IDs, this only splits them. */
function overridesOf(text) {
  const out = {};
  const lines = text.split('\n').map((l) => l.trim());
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    const at = line.indexOf('=');
    if (at < 0) return { error: 'line ' + (i + 1) + ' needs "Acme user ID = our user ID"' };
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return { overrides: out };
}

async function saveMapping(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  const parsed = overridesOf($('overrides').value);
  if (parsed.error) return showFieldError('overrides', parsed.error);
  const settings = {
    defaultTimeZone: $('time-zone').value.trim(),
    titleTemplate: $('title-template').value,
    touchpointTypes: { email: listOf($('email-types').value), phone: listOf($('phone-types').value) },
    userMapping: { overrides: parsed.overrides },
  };
  const res = await api('PATCH', tenantPath(''), { settings });
  if (!res.ok) return reportFailure(res, 'Saving the mapping');
  state.tenant = res.data;
  fillMapping(res.data.settings);
  announce('Mapping saved.');
}

// ---- two-way calendar sync (issue 15) ----
const WB_FIELDS = ['title', 'time', 'location', 'status'];

function fillWriteback(settings) {
  const wb = settings.writeback;
  $('wb-enabled').checked = wb.enabled;
  $('wb-policy').value = wb.conflictPolicy;
  for (const f of WB_FIELDS) $('wb-' + f).checked = wb.fields[f];
}

async function saveWriteback(event) {
  event.preventDefault();
  clearFieldErrors(event.currentTarget);
  const fields = {};
  for (const f of WB_FIELDS) fields[f] = $('wb-' + f).checked;
  const writeback = { enabled: $('wb-enabled').checked, conflictPolicy: $('wb-policy').value, fields };
  const res = await api('PATCH', tenantPath(''), { settings: { writeback } });
  if (!res.ok) return reportFailure(res, 'Saving two-way sync');
  state.tenant = res.data;
  fillWriteback(res.data.settings);
  announce(writeback.enabled ? 'Two-way sync saved: on.' : 'Two-way sync saved: off.');
}

// ---- backfill ----
function renderBackfill(p) {
  $('backfill-progress').hidden = false;
  const bar = $('backfill-bar');
  const parts = Object.entries(p.byType || {}).map(([type, n]) => type + ' ' + n).join(', ');
  if (p.status === 'running') {
    bar.removeAttribute('value');
    $('backfill-text').textContent = 'Running: ' + p.pages + ' pages, ' + p.records + ' records' + (parts ? ' (' + parts + ')' : '') + '.';
  } else {
    bar.max = 1;
    bar.value = 1;
    $('backfill-text').textContent = (p.status === 'succeeded' ? 'Done: ' : 'Failed: ') + p.records + ' records' + (parts ? ' (' + parts + ')' : '') + (p.error ? '. ' + p.error : '.');
  }
}

function watchBackfill() {
  clearInterval(state.backfillTimer);
  const tick = async () => {
    const res = await api('GET', tenantPath('/backfill'));
    if (!res.ok) return;
    renderBackfill(res.data);
    if (res.data.status !== 'running') {
      clearInterval(state.backfillTimer);
      announce(res.data.status === 'succeeded' ? 'Backfill done: ' + res.data.records + ' records.' : 'Backfill failed: ' + (res.data.error || 'unknown error'));
      await refreshStatus();
    }
  };
  state.backfillTimer = setInterval(tick, POLL_MS);
  tick();
}

async function startBackfill(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  const since = $('backfill-since').value;
  const res = await api('POST', tenantPath('/backfill'), since ? { since } : {});
  if (!res.ok) return reportFailure(res, 'Starting the backfill');
  announce('Backfill started.');
  renderBackfill(res.data);
  watchBackfill();
}

// ---- dead-letter queue ----
async function listDlq(event) {
  if (event) event.preventDefault();
  clearFieldErrors($('dlq-filter'));
  const query = new URLSearchParams();
  const code = $('dlq-code').value.trim();
  if (code) query.set('code', code);
  if ($('dlq-stage').value) query.set('stage', $('dlq-stage').value);
  const qs = query.toString();
  const res = await api('GET', tenantPath('/dlq') + (qs ? '?' + qs : ''));
  if (!res.ok) {
    if (res.status === 400 && res.data.error.field === 'querystring.code') return showFieldError('dlq-code', 'use the upper-case code, for example VALIDATION_FAILED');
    return announce('Could not read the dead-letter queue: ' + errorText(res));
  }
  state.listed = res.data.data.map((r) => r.id);
  state.dryRunOf = null;
  $('dlq-replay').disabled = true;
  $('dlq-detail').hidden = true;
  const list = $('dlq-list');
  list.replaceChildren();
  for (const r of res.data.data) list.append(recordItem(r));
  const n = res.data.count;
  $('dlq-count').textContent = n === 0 ? 'No records.' : n + (n === 1 ? ' record' : ' records') + (res.data.truncated ? ', newest ' + res.data.data.length + ' shown.' : '.');
  announce($('dlq-count').textContent);
}

function recordItem(r) {
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

async function showRecord(id) {
  const res = await api('GET', tenantPath('/dlq/' + encodeURIComponent(id)));
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

async function replay(dryRun) {
  if (state.listed.length === 0) return announce('Nothing to replay: show the records first.');
  const res = await api('POST', tenantPath('/dlq/replay'), { ids: state.listed, dryRun });
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
  $('dlq-replay').disabled = !dryRun;
  const summary = Object.entries(report.byOutcome).filter(([, n]) => n > 0).map(([o, n]) => o + ' ' + n).join(', ') || 'nothing selected';
  announce((dryRun ? 'Dry run: ' : 'Replay: ') + summary + '.');
  if (dryRun) $('dlq-replay').focus();
  else await refreshStatus();
}

// ---- start ----
function timeZones() {
  const list = $('time-zones');
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  for (const z of zones) {
    const option = document.createElement('option');
    option.value = z;
    list.append(option);
  }
}

function returnedFromAcme() {
  const params = new URLSearchParams(location.search);
  // Announced once the page has loaded the tenant (a later message would replace it).
  if (params.has('connected')) state.arrival = 'Connected to Acme.';
  if (params.has('oauth_error')) state.arrival = 'Connecting to Acme failed: ' + params.get('oauth_error');
  if (params.has('connected') || params.has('oauth_error')) history.replaceState(null, '', location.pathname);
}

$('token-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', () => signOut(''));
$('oauth-button').addEventListener('click', connectOAuth);
$('api-key-form').addEventListener('submit', saveApiKey);
$('pause').addEventListener('click', () => setPaused(true));
$('resume').addEventListener('click', () => setPaused(false));
$('refresh').addEventListener('click', async () => { if (await refreshStatus()) announce('Status refreshed.'); });
$('mapping-form').addEventListener('submit', saveMapping);
$('writeback-form').addEventListener('submit', saveWriteback);
$('backfill-form').addEventListener('submit', startBackfill);
$('dlq-filter').addEventListener('submit', listDlq);
$('dlq-dry-run').addEventListener('click', () => replay(true));
$('dlq-replay').addEventListener('click', () => { if (state.dryRunOf === state.listed.join(',')) replay(false); });
timeZones();
returnedFromAcme();
if (state.token) loadTenant(); else $('token').focus();
`;

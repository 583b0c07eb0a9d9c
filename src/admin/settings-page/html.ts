/**
 * The settings page's markup: static, no server data in it (the script fetches
 * everything with the customer's token and writes it with textContent). Plain semantic
 * HTML: one h1, an h2 per section, a label on every input, one polite live region that
 * announces every status change.
 */
export const SETTINGS_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme sync settings</title>
<link rel="stylesheet" href="/settings/assets/settings.css">
<script type="module" src="/settings/assets/activity.js"></script>
<script type="module" src="/settings/assets/settings.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <h1>Acme sync settings</h1>
  <p id="who" class="who" hidden><span id="tenant-name"></span> <button type="button" id="sign-out" class="link">Sign out</button></p>
</header>
<p id="announcer" class="announcer" role="status" aria-live="polite" aria-atomic="true"></p>
<main id="main">

<section id="sign-in" aria-labelledby="sign-in-h">
  <h2 id="sign-in-h">Sign in</h2>
  <form id="token-form" novalidate>
    <div class="field">
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required aria-describedby="token-hint token-error">
      <p id="token-hint" class="hint">The token your operator gave you. It is kept in this browser tab only.</p>
      <p id="token-error" class="error" hidden></p>
    </div>
    <button type="submit">Continue</button>
  </form>
</section>

<div id="app" hidden>

<section id="connection" aria-labelledby="connection-h">
  <h2 id="connection-h">Acme connection</h2>
  <p>Status: <strong id="connection-state">…</strong></p>
  <div id="oauth-connect" hidden>
    <p>Sign in at Acme and allow access; you come back here afterwards.</p>
    <button type="button" id="oauth-button">Connect with Acme</button>
  </div>
  <form id="api-key-form" novalidate hidden>
    <div class="field">
      <label for="api-key">Acme API key</label>
      <input id="api-key" name="apiKey" type="password" autocomplete="off" spellcheck="false" aria-describedby="api-key-hint api-key-error">
      <p id="api-key-hint" class="hint">Saved encrypted; it is never shown again.</p>
      <p id="api-key-error" class="error" hidden></p>
    </div>
    <button type="submit">Save and activate</button>
  </form>
</section>

<section id="status" aria-labelledby="status-h">
  <h2 id="status-h">Sync status</h2>
  <dl class="facts">
    <div><dt>Sync</dt><dd id="st-status">…</dd></div>
    <div><dt>Last webhook</dt><dd id="st-webhook">…</dd></div>
    <div><dt>Last poll</dt><dd id="st-poll">…</dd></div>
    <div><dt>Freshness</dt><dd id="st-freshness">…</dd></div>
    <div><dt>Records in the dead-letter queue</dt><dd id="st-dlq">…</dd></div>
  </dl>
  <h3>Recent errors</h3>
  <ul id="st-errors" class="plain"></ul>
  <div class="actions">
    <button type="button" id="pause">Pause sync</button>
    <button type="button" id="resume">Resume sync</button>
    <button type="button" id="refresh" class="secondary">Refresh</button>
  </div>
</section>

<section id="activity" aria-labelledby="activity-h">
  <h2 id="activity-h">Sync activity</h2>
  <p id="activity-error" class="error"></p>
  <figure>
    <figcaption id="chart-hours-cap">Changes synced per hour, last 48 hours (UTC)</figcaption>
    <div id="chart-hours" class="chart-host" data-title="Changes synced per hour"></div>
  </figure>
  <figure>
    <figcaption id="chart-dlq-cap">Dead-letter records per day by stage, and replays, last 14 days (UTC)</figcaption>
    <div id="chart-dlq" class="chart-host" data-title="Dead-letter records per day"></div>
  </figure>
  <div class="actions"><button type="button" id="activity-refresh" class="secondary">Refresh activity</button></div>
  <p><a href="/touchpoints">Touch-points per user and day</a></p>
</section>

<section id="mapping" aria-labelledby="mapping-h">
  <h2 id="mapping-h">Mapping</h2>
  <form id="mapping-form" novalidate>
    <div class="field">
      <label for="time-zone">Default time zone</label>
      <input id="time-zone" name="defaultTimeZone" list="time-zones" autocomplete="off" aria-describedby="time-zone-hint time-zone-error">
      <datalist id="time-zones"></datalist>
      <p id="time-zone-hint" class="hint">Used when Acme does not say, for example Europe/Berlin.</p>
      <p id="time-zone-error" class="error" hidden></p>
    </div>
    <div class="field">
      <label for="title-template">Calendar title template</label>
      <input id="title-template" name="titleTemplate" autocomplete="off" aria-describedby="title-template-hint title-template-error">
      <p id="title-template-hint" class="hint">Placeholders: {title}, {customer_name}, {customer_company}, {location}.</p>
      <p id="title-template-error" class="error" hidden></p>
    </div>
    <div class="field">
      <label for="email-types">Acme activity types counted as emails</label>
      <input id="email-types" name="emailTypes" autocomplete="off" aria-describedby="email-types-hint email-types-error">
      <p id="email-types-hint" class="hint">Comma-separated, for example email, newsletter.</p>
      <p id="email-types-error" class="error" hidden></p>
    </div>
    <div class="field">
      <label for="phone-types">Acme activity types counted as calls</label>
      <input id="phone-types" name="phoneTypes" autocomplete="off" aria-describedby="phone-types-hint phone-types-error">
      <p id="phone-types-hint" class="hint">Comma-separated, for example call.</p>
      <p id="phone-types-error" class="error" hidden></p>
    </div>
    <div class="field">
      <label for="overrides">User mapping overrides</label>
      <textarea id="overrides" name="overrides" rows="3" spellcheck="false" aria-describedby="overrides-hint overrides-error"></textarea>
      <p id="overrides-hint" class="hint">One per line: Acme user ID = our user ID, for example usr_123 = anna@example.com. Users not listed are matched by email.</p>
      <p id="overrides-error" class="error" hidden></p>
    </div>
    <button type="submit">Save mapping</button>
  </form>
</section>

<section id="writeback" aria-labelledby="writeback-h">
  <h2 id="writeback-h">Two-way calendar sync</h2>
  <p>Edits your users make in our calendar are written back to Acme. Off unless you switch it on; it needs write access to Acme.</p>
  <form id="writeback-form" novalidate>
    <div class="field">
      <label><input type="checkbox" id="wb-enabled" name="enabled"> Write calendar edits back to Acme</label>
    </div>
    <div class="field">
      <label for="wb-policy">When Acme changed the appointment too</label>
      <select id="wb-policy" name="conflictPolicy" aria-describedby="wb-policy-hint wb-policy-error">
        <option value="acme-wins">Acme wins</option>
        <option value="calendar-wins">Our calendar wins</option>
        <option value="newest-wins">The newest edit wins</option>
      </select>
      <p id="wb-policy-hint" class="hint">The calendar shows the outcome and a conflict note.</p>
      <p id="wb-policy-error" class="error" hidden></p>
    </div>
    <fieldset class="field">
      <legend>Fields written back</legend>
      <label><input type="checkbox" id="wb-title" name="title"> Title</label>
      <label><input type="checkbox" id="wb-time" name="time"> Start, end and time zone</label>
      <label><input type="checkbox" id="wb-location" name="location"> Location</label>
      <label><input type="checkbox" id="wb-status" name="status"> Cancellation</label>
    </fieldset>
    <button type="submit">Save two-way sync</button>
  </form>
</section>

<section id="backfill" aria-labelledby="backfill-h">
  <h2 id="backfill-h">Backfill</h2>
  <form id="backfill-form" novalidate>
    <div class="field">
      <label for="backfill-since">Read history since</label>
      <input id="backfill-since" name="since" type="date" aria-describedby="backfill-since-error">
      <p id="backfill-since-error" class="error" hidden></p>
    </div>
    <button type="submit">Start backfill</button>
  </form>
  <div id="backfill-progress" class="progress" hidden>
    <label for="backfill-bar">Backfill progress</label>
    <progress id="backfill-bar"></progress>
    <p id="backfill-text"></p>
  </div>
</section>

<section id="dlq-pages" aria-labelledby="dlq-pages-h">
  <h2 id="dlq-pages-h">Dead-letter records</h2>
  <form id="dlqp-filter" novalidate>
    <div class="row">
      <div class="field"><label for="dlqp-code">Error code</label><input id="dlqp-code" name="code" autocomplete="off"></div>
      <div class="field"><label for="dlqp-stage">Stage</label>
        <select id="dlqp-stage" name="stage"><option value="">Any</option><option>decode</option><option>validate</option><option>enrich</option><option>transform</option><option>sink</option><option>webhook</option><option>poll</option></select></div>
      <div class="field"><label for="dlqp-entity">Kind</label>
        <select id="dlqp-entity" name="entity"><option value="">Any</option><option>appointments</option><option>contacts</option><option>activities</option><option>webhook</option><option>record</option></select></div>
    </div>
    <button type="submit">Filter</button>
  </form>
  <p id="dlq-page-status" role="status"></p>
  <div class="table-scroll">
    <table class="dlq-table">
      <thead><tr><th scope="col">When</th><th scope="col">Record</th><th scope="col">Stage</th><th scope="col">Code</th><th scope="col">Reason</th></tr></thead>
      <tbody id="dlq-rows"></tbody>
    </table>
  </div>
  <div class="actions"><button type="button" id="dlq-newer" class="secondary" disabled>Newer</button><button type="button" id="dlq-older" class="secondary" disabled>Older</button></div>
</section>

<section id="dlq" aria-labelledby="dlq-h">
  <h2 id="dlq-h">Dead-letter queue</h2>
  <p>Records that could not be synced. Fix the cause (for example the mapping), then replay them: try a dry run first.</p>
  <form id="dlq-filter" novalidate>
    <div class="row">
      <div class="field">
        <label for="dlq-code">Error code</label>
        <input id="dlq-code" name="code" autocomplete="off" aria-describedby="dlq-code-error">
        <p id="dlq-code-error" class="error" hidden></p>
      </div>
      <div class="field">
        <label for="dlq-stage">Stage</label>
        <select id="dlq-stage" name="stage">
          <option value="">Any</option>
          <option>decode</option><option>validate</option><option>transform</option><option>enrich</option><option>sink</option><option>produce</option><option>writeback</option>
        </select>
      </div>
    </div>
    <button type="submit">Show records</button>
  </form>
  <p id="dlq-count"></p>
  <ul id="dlq-list" class="records"></ul>
  <div id="dlq-detail" class="detail" hidden tabindex="-1" aria-labelledby="dlq-detail-h">
    <h3 id="dlq-detail-h">Record</h3>
    <dl class="facts" id="dlq-detail-facts"></dl>
    <h4>Payload</h4>
    <pre id="dlq-detail-payload"></pre>
  </div>
  <div class="actions">
    <button type="button" id="dlq-dry-run">Dry run replay</button>
    <button type="button" id="dlq-replay" disabled aria-describedby="dlq-replay-hint">Replay</button>
  </div>
  <p id="dlq-replay-hint" class="hint">Replays the records listed above; run a dry run of them first.</p>
  <div id="dlq-report" hidden>
    <h3 id="dlq-report-h">Replay report</h3>
    <dl class="facts" id="dlq-report-facts"></dl>
  </div>
</section>

</div>
</main>
</body>
</html>
`;

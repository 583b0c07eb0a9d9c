/**
 * The touch-point dashboard's markup (issue 16): static like the settings page (no server
 * data in it; browser/touchpoints.ts fetches with the tenant's admin token and writes
 * with textContent), styled by the settings page's stylesheet.
 */
export const TOUCHPOINTS_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Touch-points</title>
<link rel="stylesheet" href="/settings/assets/settings.css">
<script type="module" src="/settings/assets/touchpoints.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <h1>Touch-points</h1>
  <p class="who"><span id="tenant-name"></span> <a href="/settings">Settings</a></p>
</header>
<main id="main">

<section id="tp-sign-in" aria-labelledby="tp-sign-in-h" hidden>
  <h2 id="tp-sign-in-h">Sign in</h2>
  <form id="tp-token-form" novalidate>
    <div class="field">
      <label for="tp-token">Admin token</label>
      <input id="tp-token" name="token" type="password" autocomplete="off" spellcheck="false" required>
    </div>
    <button type="submit">Continue</button>
  </form>
</section>

<div id="tp-app" hidden>
<section aria-labelledby="tp-range-h">
  <h2 id="tp-range-h">Range</h2>
  <form id="tp-form" novalidate>
    <div class="row">
      <div class="field"><label for="tp-from">From</label><input id="tp-from" name="from" type="date" required></div>
      <div class="field"><label for="tp-to">To</label><input id="tp-to" name="to" type="date" required></div>
      <div class="field"><label for="tp-user">User</label><select id="tp-user" name="user"><option value="">All users</option></select></div>
    </div>
    <button type="submit">Show</button>
  </form>
  <p id="tp-error" class="error" role="alert"></p>
</section>

<section aria-labelledby="tp-chart-h">
  <h2 id="tp-chart-h">Touch-points per day</h2>
  <p class="hint">Local days in each user's time zone. Emails and calls as counted from Acme's activities.</p>
  <div id="tp-chart" class="chart-host" data-title="Touch-points per day"></div>
</section>

<section aria-labelledby="tp-users-h">
  <h2 id="tp-users-h">Per user</h2>
  <div class="table-scroll">
    <table class="dlq-table" id="tp-users-table">
      <thead><tr><th scope="col">User</th><th scope="col">Acme user</th><th scope="col">Our user</th><th scope="col">Emails</th><th scope="col">Calls</th></tr></thead>
      <tbody id="tp-users"></tbody>
    </table>
  </div>
  <p id="tp-more" class="hint"></p>
</section>

<section aria-labelledby="tp-days-h">
  <h2 id="tp-days-h">Per user and day</h2>
  <div class="table-scroll">
    <table class="dlq-table" id="tp-days-table">
      <thead><tr><th scope="col">Day</th><th scope="col">User</th><th scope="col">Emails</th><th scope="col">Calls</th></tr></thead>
      <tbody id="tp-days"></tbody>
    </table>
  </div>
</section>
</div>
</main>
</body>
</html>
`;

/**
 * Issue 16: the settings page's pictures and its paged DLQ list, against the real
 * PostgreSQL, in Debian's headless Chromium (desktop and a 390-px phone). 10,000 DLQ
 * entries (many sharing one created_at, the case where a keyset without a tie-breaker
 * skips or repeats rows) must come a bounded page at a time, every one exactly once;
 * the tenant's name and error messages stay text; the CSP stays strict.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { MAX_PAGE } from '../../src/admin/activity-routes.js';
import { createAdminApp } from '../../src/admin/app.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { sandboxOutbound, tenantsOf } from '../acme/sandbox-tenants.js';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../helpers/chromium.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

const HOSTILE_NAME = 'Evil <img src=x onerror="window.__xss=1"> & Co';
const HOSTILE_MESSAGE = '<script>window.__xss=2</script><img src=x onerror="window.__xss=3">';
const ENTRIES = 10_000;
const STAGES = ['validate', 'enrich', 'webhook', 'decode'];
const CODES = ['VALIDATION_FAILED', 'UNKNOWN_CONTACT', 'MALFORMED_WEBHOOK'];

let stack: IsolatedStack;
let app: FastifyInstance;
let baseUrl: string;
let browser: LaunchedChromium | undefined;
let context: BrowserContext;
const tokens: Record<string, string> = {};

interface Entry { entity: string; recordId: string; version: number; stage: string; code: string; message: string; createdAt: string }
interface Page_ { total: number; limit: number; next: string | null; data: Entry[] }

async function entries(tenant: string, query: Record<string, string>, as = tenant) {
  const res = await app.inject({ method: 'GET', url: `/admin/tenants/${tenant}/dlq/entries?${new URLSearchParams(query)}`, headers: { authorization: `Bearer ${tokens[as]}` } });
  return { status: res.statusCode, body: res.json<Page_>() };
}

/** Every page of a filter, following `next`; fails on a page over its limit. */
async function walk(tenant: string, filter: Record<string, string>, limit: number): Promise<{ rows: Entry[]; pages: number; total: number }> {
  const rows: Entry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  let total = -1;
  do {
    const { status, body } = await entries(tenant, { ...filter, limit: String(limit), ...(cursor ? { cursor } : {}) });
    expect(status).toBe(200);
    expect(body.data.length).toBeLessThanOrEqual(limit);
    rows.push(...body.data);
    total = body.total;
    cursor = body.next;
    pages++;
  } while (cursor !== null);
  return { rows, pages, total };
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  const { tenants } = tenantsOf(stack.pool, stack.config);
  app = createAdminApp({ acmeOutbound: sandboxOutbound(), pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/' });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  await tenants.create({ id: 'act-a', name: HOSTILE_NAME, acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', acmeAccountId: 'acc_a', secrets: { webhookSecrets: [] } });
  await tenants.create({ id: 'act-b', name: 'Other Co', acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', acmeAccountId: 'acc_b', secrets: { webhookSecrets: [] } });
  const store = createAdminTokenStore(stack.pool);
  for (const id of ['act-a', 'act-b']) tokens[id] = (await store.issue({ tenantId: id })).token;
  // 10,000 entries for act-a over 14 days, 25 sharing each created_at (ties), and 300 of act-b.
  await stack.pool.query(
    `INSERT INTO dlq_entries (tenant_id, entity, record_id, version, reason, stage, code, message, recorded_by, created_at)
     SELECT 'act-a', (ARRAY['appointments','contacts','activities','webhook'])[1 + i % 4], 'rec_' || i, i % 3, md5(i::text),
            ($1::text[])[1 + i % 4], ($2::text[])[1 + i % 3], CASE WHEN i = 1 THEN $3 ELSE 'reason ' || i END, 'test',
            date_trunc('second', now()) - ((i / 25) * interval '50 minutes')
       FROM generate_series(1, $4::int) AS i`,
    [STAGES, CODES, HOSTILE_MESSAGE, ENTRIES],
  );
  await stack.pool.query(
    `INSERT INTO dlq_entries (tenant_id, entity, record_id, version, reason, stage, code, message, recorded_by, created_at)
     SELECT 'act-b', 'appointments', 'b_' || i, 1, md5(i::text), 'validate', 'VALIDATION_FAILED', 'b', 'test', now() - i * interval '1 minute' FROM generate_series(1, 300) AS i`,
  );
  await stack.pool.query(
    `INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, target_topic, tenant_id, replayed_at)
     SELECT 'dlq', 0, i, 'in', 'act-a', now() - (i % 3) * interval '1 day' FROM generate_series(1, 30) AS i`,
  );
  // Synced changes over the last hours: 3 calendar events, 2 contacts, 4 activities per hour for 6 hours.
  await stack.pool.query(
    `INSERT INTO contacts (tenant_id, acme_id, acme_version, acme_updated_at, updated_at)
       SELECT 'act-a', 'con_' || h || '_' || n, 1, now(), date_trunc('hour', now()) - h * interval '1 hour' FROM generate_series(0, 5) h, generate_series(1, 2) n;
     INSERT INTO activity_facts (tenant_id, acme_id, acme_version, updated_at)
       SELECT 'act-a', 'act_' || h || '_' || n, 1, date_trunc('hour', now()) - h * interval '1 hour' FROM generate_series(0, 5) h, generate_series(1, 4) n;
     INSERT INTO calendar_events (tenant_id, acme_appointment_id, acme_version, title, starts_at, time_zone, status, updated_at)
       SELECT 'act-a', 'apt_' || h || '_' || n, 1, 't', now(), 'UTC', 'ACTIVE', date_trunc('hour', now()) - h * interval '1 hour' FROM generate_series(0, 5) h, generate_series(1, 3) n;`,
  );
  browser = await launchChromium();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await stack?.close();
});

describe('the paged DLQ list API', () => {
  it('walks any filter and page size to exactly the filtered entries, newest first, each once, never a page over its limit', async () => {
    await fc.assert(fc.asyncProperty(
      fc.record({ stage: fc.option(fc.constantFrom(...STAGES), { nil: undefined }), code: fc.option(fc.constantFrom(...CODES), { nil: undefined }) }),
      fc.integer({ min: 37, max: MAX_PAGE }),
      async (filter, limit) => {
        const query = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as Record<string, string>;
        const { rows: expected } = await stack.pool.query<{ record_id: string }>(
          `SELECT record_id FROM dlq_entries WHERE tenant_id = 'act-a' AND ($1::text IS NULL OR stage = $1) AND ($2::text IS NULL OR code = $2)
            ORDER BY created_at DESC, entity DESC, record_id DESC, version DESC, reason DESC`,
          [query.stage ?? null, query.code ?? null],
        );
        const { rows, pages, total } = await walk('act-a', query, limit);
        expect(total).toBe(expected.length);
        expect(rows.map((r) => r.recordId)).toEqual(expected.map((r) => r.record_id));
        expect(pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
      },
    ), { numRuns: 4 });
  }, 120_000);

  it('answers a bounded page of 10,000 entries, refuses pages over the maximum and cursors it did not give', async () => {
    const first = await entries('act-a', {});
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(ENTRIES);
    expect(first.body.data).toHaveLength(50);
    expect((await entries('act-a', { limit: String(MAX_PAGE + 1) })).status).toBe(400);
    for (const cursor of ['abc', Buffer.from('["1","a"]').toString('base64url'), Buffer.from('[1,2,3,4,5]').toString('base64url'), Buffer.from('["1;drop","a","b","1","c"]').toString('base64url')])
      expect((await entries('act-a', { cursor })).status, cursor).toBe(400);
  });

  it('shows a tenant only its own entries and activity', async () => {
    const { rows } = await walk('act-b', {}, MAX_PAGE);
    expect(rows).toHaveLength(300);
    expect(rows.every((r) => r.recordId.startsWith('b_'))).toBe(true);
    expect((await entries('act-a', {}, 'act-b')).status).toBe(404);
    const other = await app.inject({ method: 'GET', url: '/admin/tenants/act-a/activity', headers: { authorization: `Bearer ${tokens['act-b']}` } });
    expect(other.statusCode).toBe(404);
  });

  it('counts synced changes per hour and DLQ entries per day by stage, with replays', async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/tenants/act-a/activity?hours=6&days=14', headers: { authorization: `Bearer ${tokens['act-a']}` } });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ perHour: { calendar: number; contacts: number; activities: number }[]; dlqPerDay: { day: string; byStage: Record<string, number>; replayed: number }[] }>();
    expect(body.perHour).toHaveLength(6);
    for (const h of body.perHour) expect(h).toMatchObject({ calendar: 3, contacts: 2, activities: 4 });
    expect(body.dlqPerDay).toHaveLength(14);
    const { rows: [{ n }] } = await stack.pool.query(`SELECT count(*)::int AS n FROM dlq_entries WHERE tenant_id = 'act-a' AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '13 days'`);
    expect(body.dlqPerDay.reduce((s, d) => s + Object.values(d.byStage).reduce((a, b) => a + b, 0), 0)).toBe(n);
    expect(body.dlqPerDay.reduce((s, d) => s + d.replayed, 0)).toBe(30);
  });
});

describe.each([
  { device: 'desktop', viewport: { width: 1280, height: 900 } },
  { device: 'phone', viewport: { width: 390, height: 844 } },
])('the settings page\'s activity and DLQ pages on a $device', ({ device, viewport }) => {
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    page = await context.newPage();
    await page.setViewportSize(viewport);
    page.on('pageerror', (err) => problems.push(err.message));
    // A CSP violation is reported on the console: none may happen.
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
    const response = await page.goto(`${baseUrl}/settings`);
    expect(response!.headers()['content-security-policy']).toBe("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    await page.locator('#token').fill(tokens['act-a']!);
    await page.keyboard.press('Enter');
    await vi.waitFor(async () => expect(await page.locator('#dlq-rows tr').count()).toBe(50), { timeout: 15_000 });
  });

  afterAll(async () => { await page?.close(); });

  it('draws both charts as inline SVG, with legends and a summary for screen readers', async () => {
    await expect.poll(() => page.locator('#chart-hours svg rect.bar').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-dlq svg rect.bar').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-hours-svg-d').textContent()).toMatch(/^\d+ changes synced/);
    expect(await page.locator('#chart-dlq .legend li').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^Replayed \(30\)$/)]));
    await page.locator('#activity').screenshot({ path: join(SCREENSHOTS, `activity-${device}.png`) });
  });

  it('renders one page of the 10,000 records, and the next and previous pages on request', async () => {
    expect(await page.locator('#dlq-page-status').textContent()).toBe(`Records 1–50 of ${ENTRIES}, newest first.`);
    const firstPage = await page.locator('#dlq-rows tr td.mono').first().textContent();
    await page.locator('#dlq-older').click();
    await expect.poll(() => page.locator('#dlq-page-status').textContent()).toBe(`Records 51–100 of ${ENTRIES}, newest first.`);
    expect(await page.locator('#dlq-rows tr').count()).toBe(50);
    await page.locator('#dlq-newer').click();
    await expect.poll(() => page.locator('#dlq-rows tr td.mono').first().textContent()).toBe(firstPage);
    await page.locator('#dlqp-stage').selectOption('webhook');
    await page.locator('#dlqp-filter button[type=submit]').click();
    await expect.poll(() => page.locator('#dlq-page-status').textContent()).toBe(`Records 1–50 of ${ENTRIES / 4}, newest first.`);
    expect(new Set(await page.locator('#dlq-rows tr td:nth-child(3)').allTextContents())).toEqual(new Set(['webhook']));
    await page.locator('#dlq-pages').screenshot({ path: join(SCREENSHOTS, `dlq-pages-${device}.png`) });
    await page.locator('#dlq-pages-h').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('dlq-pages-h')!.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(SCREENSHOTS, `dlq-pages-${device}-top.png`) });
  });

  it('keeps the tenant\'s name and the error messages as text', async () => {
    expect(await page.locator('#tenant-name').textContent()).toBe(`${HOSTILE_NAME} (act-a)`);
    await page.locator('#dlqp-stage').selectOption('');
    // Typed in lower case: the page asks for the upper-case code. Entry 1 (the hostile message) is among the newest.
    await page.locator('#dlqp-code').fill('unknown_contact');
    await page.locator('#dlqp-filter button[type=submit]').click();
    await expect.poll(() => page.locator('#dlq-page-status').textContent()).toBe(`Records 1–50 of ${Math.floor((ENTRIES + 2) / 3)}, newest first.`);
    expect(await page.locator('#dlq-rows td.msg').allTextContents()).toContain(HOSTILE_MESSAGE);
    expect(await page.locator('main img, main script:not([src])').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(problems).toEqual([]);
  });
});

/**
 * Issue 16: the touch-point dashboard page (admin process, tenant-scoped by the admin
 * tokens) against the real PostgreSQL, in Debian's headless Chromium on a desktop and a
 * 390-px phone. The counts are generated here (the truth is computed from the generated
 * data, not by our SQL); user names from Acme stay text; the CSP stays strict.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { createAdminApp } from '../../src/admin/app.js';
import { MAX_DAYS } from '../../src/admin/touchpoint-routes.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { sandboxOutbound, tenantsOf } from '../acme/sandbox-tenants.js';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../helpers/chromium.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const HOSTILE_USER = '<img src=x onerror="window.__xss=4">Anna';
const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.now() - offset * DAY_MS).toISOString().slice(0, 10);
const USERS = [
  { id: 'usr_anna', name: HOSTILE_USER, email: 'anna@example.com' },
  { id: 'usr_ben', name: 'Ben', email: 'ben@example.com' },
  { id: 'usr_cy', name: null, email: 'cy@example.com' },
];

interface Count { tenant: string; user: string; day: string; channel: 'EMAIL' | 'PHONE'; count: number }
let stack: IsolatedStack;
let app: FastifyInstance;
let baseUrl: string;
let browser: LaunchedChromium | undefined;
let context: BrowserContext;
const tokens: Record<string, string> = {};
const counts: Count[] = [];

/** The truth for a range, from the generated counts. */
function truth(tenant: string, from: string, to: string, user?: string) {
  const inRange = counts.filter((c) => c.tenant === tenant && c.day >= from && c.day <= to && (!user || c.user === user) && c.count > 0);
  return { EMAIL: inRange.filter((c) => c.channel === 'EMAIL').reduce((s, c) => s + c.count, 0), PHONE: inRange.filter((c) => c.channel === 'PHONE').reduce((s, c) => s + c.count, 0), users: new Set(inRange.map((c) => c.user)) };
}

async function dashboard(tenant: string, query: Record<string, string>, as = tenant) {
  const res = await app.inject({ method: 'GET', url: `/admin/tenants/${tenant}/touchpoints?${new URLSearchParams(query)}`, headers: { authorization: `Bearer ${tokens[as]}` } });
  return { status: res.statusCode, body: res.json<{ users: { acmeUserId: string; name: string | null; EMAIL: number; PHONE: number; userId: string | null }[]; rows: { acmeUserId: string; day: string; EMAIL: number; PHONE: number }[]; moreUsers: number }>() };
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  const { tenants } = tenantsOf(stack.pool, stack.config);
  app = createAdminApp({ acmeOutbound: sandboxOutbound(), pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/' });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const id of ['tp-a', 'tp-b']) {
    await tenants.create({ id, name: id === 'tp-a' ? 'Touch <b>&</b> Go' : 'Other', acmeBaseUrl: 'http://127.0.0.1:9', authKind: 'api_key', acmeAccountId: `acc_${id}`, secrets: { webhookSecrets: [] }, settings: { userMapping: { overrides: { usr_ben: 'ben-ours' } } } });
    tokens[id] = (await createAdminTokenStore(stack.pool).issue({ tenantId: id })).token;
  }
  // 40 days of generated counts (some zero: a count that went back to 0 stays a row).
  const generated = fc.sample(fc.tuple(fc.constantFrom('tp-a', 'tp-b'), fc.constantFrom(...USERS.map((u) => u.id)), fc.integer({ min: 0, max: 39 }), fc.constantFrom('EMAIL' as const, 'PHONE' as const), fc.integer({ min: 0, max: 9 })), { numRuns: 400, seed: 16 });
  const seen = new Set<string>();
  for (const [tenant, user, offset, channel, count] of generated) {
    const key = `${tenant}/${user}/${offset}/${channel}`;
    if (seen.has(key)) continue;
    seen.add(key);
    counts.push({ tenant, user, day: day(offset), channel, count });
  }
  await stack.pool.query(
    `INSERT INTO touchpoint_counts (tenant_id, acme_user_id, day, channel, count) SELECT * FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::int[])`,
    [counts.map((c) => c.tenant), counts.map((c) => c.user), counts.map((c) => c.day), counts.map((c) => c.channel), counts.map((c) => c.count)],
  );
  for (const tenant of ['tp-a', 'tp-b']) for (const u of USERS) await stack.pool.query('INSERT INTO acme_users (tenant_id, acme_user_id, email, name) VALUES ($1, $2, $3, $4)', [tenant, u.id, u.email, u.name]);
  browser = await launchChromium();
  context = browser.context;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await stack?.close();
});

describe('the touch-point dashboard API', () => {
  it('answers the generated counts for any range, per user, day and channel', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 45 }), fc.constantFrom('tp-a', 'tp-b'), async (a, b, tenant) => {
      const [from, to] = [day(Math.max(a, b)), day(Math.min(a, b))];
      const { status, body } = await dashboard(tenant, { from, to });
      expect(status).toBe(200);
      const t = truth(tenant, from, to);
      expect(new Set(body.users.map((u) => u.acmeUserId))).toEqual(t.users);
      expect(body.users.reduce((s, u) => s + u.EMAIL, 0)).toBe(t.EMAIL);
      expect(body.rows.reduce((s, r) => s + r.PHONE, 0)).toBe(t.PHONE);
      for (const r of body.rows) expect(r.day >= from && r.day <= to).toBe(true);
      for (const u of body.users) {
        const mine = truth(tenant, from, to, u.acmeUserId);
        expect({ EMAIL: u.EMAIL, PHONE: u.PHONE }).toEqual({ EMAIL: mine.EMAIL, PHONE: mine.PHONE });
      }
    }), { numRuns: 15 });
  });

  it('maps our user as the touchpoints topic does (override, else email), and scopes by token', async () => {
    const { body } = await dashboard('tp-a', { from: day(39), to: day(0) });
    expect(Object.fromEntries(body.users.map((u) => [u.acmeUserId, u.userId]))).toEqual({ usr_anna: 'anna@example.com', usr_ben: 'ben-ours', usr_cy: 'cy@example.com' });
    expect((await dashboard('tp-a', { from: day(3), to: day(0) }, 'tp-b')).status).toBe(404);
  });

  it('refuses days that do not exist, reversed ranges and ranges over the maximum', async () => {
    for (const [from, to] of [['2026-02-30', '2026-03-01'], [day(0), day(5)], [day(MAX_DAYS), day(0)], ['x', day(0)]])
      expect((await dashboard('tp-a', { from: from!, to: to! })).status, `${from}..${to}`).toBe(400);
  });
});

describe.each([
  { device: 'desktop', viewport: { width: 1280, height: 900 } },
  { device: 'phone', viewport: { width: 390, height: 844 } },
])('the touch-point dashboard page on a $device', ({ device, viewport }) => {
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    page = await context.newPage();
    await page.setViewportSize(viewport);
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text()); });
    const response = await page.goto(`${baseUrl}/touchpoints`);
    expect(response!.headers()['content-security-policy']).toBe(CSP);
    await vi.waitFor(async () => expect(await page.locator('#tp-token').isVisible()).toBe(true));
    await page.locator('#tp-token').fill(tokens['tp-a']!);
    await page.keyboard.press('Enter');
    await vi.waitFor(async () => expect(await page.locator('#tp-users tr').count()).toBeGreaterThan(0), { timeout: 15_000 });
  });

  afterAll(async () => { await page?.close(); });

  it('charts the last 14 days of all users, with the table behind it', async () => {
    const t = truth('tp-a', day(13), day(0));
    expect(await page.locator('#tp-chart-svg-d').textContent()).toBe(`${t.EMAIL + t.PHONE} touch-points of all users from ${day(13)} to ${day(0)}.`);
    expect(await page.locator('#tp-chart svg g').count()).toBe(14);
    const tableTotal = (await page.locator('#tp-days td[data-label=Emails], #tp-days td[data-label=Calls]').allTextContents()).reduce((s, n) => s + Number(n), 0);
    expect(tableTotal).toBe(t.EMAIL + t.PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, `touchpoints-${device}.png`), fullPage: device === 'desktop' });
  });

  it('narrows to one user and to another range on request', async () => {
    await page.locator('#tp-user').selectOption('usr_ben');
    const ben = truth('tp-a', day(13), day(0), 'usr_ben');
    await expect.poll(() => page.locator('#tp-chart-svg-d').textContent()).toBe(`${ben.EMAIL + ben.PHONE} touch-points of Ben from ${day(13)} to ${day(0)}.`);
    expect(new Set(await page.locator('#tp-days td[data-label=User]').allTextContents())).toEqual(ben.EMAIL + ben.PHONE > 0 ? new Set(['Ben']) : new Set());
    await page.locator('#tp-from').fill(day(39));
    await page.locator('#tp-form button[type=submit]').click();
    const wide = truth('tp-a', day(39), day(0), 'usr_ben');
    await expect.poll(() => page.locator('#tp-chart-svg-d').textContent()).toBe(`${wide.EMAIL + wide.PHONE} touch-points of Ben from ${day(39)} to ${day(0)}.`);
    await page.locator('#tp-user').selectOption('');
  });

  it('keeps names from Acme and the tenant\'s name as text', async () => {
    expect(await page.locator('#tenant-name').textContent()).toBe('Touch <b>&</b> Go (tp-a)');
    expect(await page.locator('#tp-users td[data-label=User]').allTextContents()).toContain(HOSTILE_USER);
    expect(await page.locator('#tp-user option').allTextContents()).toContain(HOSTILE_USER);
    expect(await page.locator('main img, header b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(problems).toEqual([]);
  });
});

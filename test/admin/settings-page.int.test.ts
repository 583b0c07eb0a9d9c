/**
 * The settings page in a real headless Chromium (Debian's, through playwright-core; no
 * browser is ever downloaded) against the admin app on a random port with the real
 * PostgreSQL and Kafka, and the Acme sandbox in-process as Acme.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import type { KafkaProducer } from '../../src/kafka/index.js';
import type { FastifyInstance } from 'fastify';
import { createAdminApp } from '../../src/admin/app.js';
import { createAdminTokenStore } from '../../src/admin/tokens.js';
import { acmeClientsFor } from '../../src/acme/client.js';
import { publishDlq } from '../../src/dlq/records.js';
import { toDlqMessage } from '../../src/consumers/runtime/dlq.js';
import { ValidationError } from '../../src/errors/index.js';
import { createBackfillRunner, latestBackfill, type BackfillRunner } from '../../src/producers/poller/backfill.js';
import type { EventPublisher } from '../../src/producers/publisher.js';
import { createPolling } from '../../src/processes/admin.js';
import { createLogger } from '../../src/logger.js';
import type { TenantRepository } from '../../src/tenants/repository.js';
import { toOutboundEvent } from '../../src/transforms/acme-to-event.js';
import { launchChromium, SCREENSHOTS, type LaunchedChromium } from '../helpers/chromium.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { registerOAuthApp, seedAccount, startSandbox, tenantsOf, type RunningSandbox } from '../acme/sandbox-tenants.js';
import { sandboxOutbound } from '../acme/sandbox-tenants.js';

const RETRY = { initialDelayMs: 10, maxDelayMs: 100, retries: 5, deadlineMs: 5_000 };

let stack: IsolatedStack;
let env: RunningSandbox;
let tenants: TenantRepository;
let producer: KafkaProducer;
let publisher: EventPublisher;
let backfills: BackfillRunner;
let polling: FastifyInstance;
let app: FastifyInstance;
let baseUrl: string;
let browser: LaunchedChromium | undefined;
let context: BrowserContext;
let page: Page;
let apiKey: string;
const tokens: Record<string, string> = {};
const pageErrors: string[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One record of tenant web-key that failed validation, as the consumers would dead-letter it. */
async function putBadRecordInDlq(): Promise<void> {
  const event = toOutboundEvent(
    'appointment',
    { id: 'apt_broken', owner_user_id: 'usr_1', contact_id: 'con_1', title: '<img src=x onerror=alert(1)>', starts_at: null as unknown as string, ends_at: '2026-11-26T10:00:00Z', time_zone: 'UTC', location: null, status: 'scheduled', version: 1, created_at: '2026-11-25T08:00:00Z', updated_at: '2026-11-25T08:00:00Z', deleted_at: null },
    { tenantId: 'web-key', source: 'WEBHOOK', receivedAt: Date.now(), eventId: randomUUID(), correlationId: null },
  );
  const record = {
    topic: stack.topics.appointments, kind: 'appointments' as const, partition: 0, offset: '5', key: event.key, value: event.value,
    schemaId: stack.schemaIds.appointments!, headers: {}, timestamp: Date.now(), raw: await stack.codec.encode('appointments', event.value),
  };
  const meta = { groupId: 'g-calendar', clientId: 'c-1', attempts: 1, now: Date.now() };
  await publishDlq(producer, stack.pool, stack.topics.dlq, [toDlqMessage({ record, error: new ValidationError('appointment has no start', { stage: 'validate' }) }, meta)]);
}

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
  env = await startSandbox();
  ({ tenants } = tenantsOf(stack.pool, stack.config));
  polling = await createPolling({ config: stack.config, logger: createLogger({ level: 'silent', name: 'settings-page-test' }), runtime: stack, clientFor: acmeClientsFor({ tenants, retry: RETRY, outbound: sandboxOutbound() }) });
  ({ kafkaProducer: producer, eventPublisher: publisher, backfills } = polling);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const redirectUri = `${baseUrl}/oauth/callback`;
  const oauthApp = registerOAuthApp(env, [redirectUri]);
  app = createAdminApp({
    acmeOutbound: sandboxOutbound(),
    pool: stack.pool, tenants, publicBaseUrl: 'http://127.0.0.1:9/', backfills, oauth: { ...oauthApp, redirectUri }, acmeRetry: RETRY,
    dlq: { kafka: stack.kafka, codec: stack.codec, producer, topic: stack.topics.dlq, allowedTopics: [stack.topics.appointments, stack.topics.contacts, stack.topics.activities] },
  });
  await app.listen({ host: '127.0.0.1', port });

  const keyAccount = env.sandbox.provisionAccount({ name: 'web-key' });
  apiKey = keyAccount.api_key;
  seedAccount(env.sandbox, keyAccount.account.id, { contacts: 3, appointments: 2, activities: 2 });
  // The customer's Acme company name goes into the page: it must stay text.
  await tenants.create({ id: 'web-key', name: 'Key & <b>Co</b>', acmeBaseUrl: env.baseUrl, authKind: 'api_key', acmeAccountId: keyAccount.account.id, secrets: { webhookSecrets: [] } });
  const oauthAccount = env.sandbox.provisionAccount({ name: 'web-oauth' });
  seedAccount(env.sandbox, oauthAccount.account.id, { contacts: 1, appointments: 1, activities: 1 });
  await tenants.create({ id: 'web-oauth', name: 'OAuth Co', acmeBaseUrl: env.baseUrl, authKind: 'oauth', acmeAccountId: oauthAccount.account.id, secrets: { webhookSecrets: [] } });
  const store = createAdminTokenStore(stack.pool);
  for (const id of ['web-key', 'web-oauth']) tokens[id] = (await store.issue({ tenantId: id })).token;
  await putBadRecordInDlq();

  browser = await launchChromium();
  context = browser.context;
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => pageErrors.push(err.message));
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await polling?.close();
  await env?.sandbox.close();
  await stack?.close();
});

afterEach(() => expect(pageErrors).toEqual([]));

const text = (selector: string) => page.locator(selector);
const announced = (message: string | RegExp) => expect.poll(() => text('#announcer').textContent()).toMatch(message);

async function signIn(tenantId: string): Promise<void> {
  await page.goto(`${baseUrl}/settings`);
  await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('token');
  // Keyboard only: type into the focused field, Enter submits.
  await page.keyboard.type(tokens[tenantId]!);
  await page.keyboard.press('Enter');
  await expect.poll(() => text('#st-status').textContent()).toMatch(/Active|Paused/);
}

describe('the settings page in Chromium', () => {
  it('asks for the token once, then shows the tenant (as text) and its sync status', async () => {
    await signIn('web-key');
    expect(await text('#tenant-name').textContent()).toBe('Key & <b>Co</b> (web-key)');
    expect(await page.locator('#tenant-name b').count()).toBe(0);
    expect(await text('#connection-state').textContent()).toBe('Not connected (API key)');
    expect(await text('#st-dlq').textContent()).toBe('0');
    await page.reload();
    await expect.poll(() => text('#st-status').textContent()).toBe('Active');
    expect(await text('#sign-in').isHidden()).toBe(true);
  });

  it('saves an API key and activates: the page shows connected and the initial backfill finishes', async () => {
    await page.fill('#api-key', apiKey);
    await page.click('#api-key-form button[type=submit]');
    await expect.poll(() => text('#connection-state').textContent()).toBe('Connected (API key)');
    await expect.poll(() => text('#backfill-text').textContent(), { timeout: 15_000 }).toMatch(/^Done: /);
    expect((await tenants.getWithSecrets('web-key'))!.secrets.apiKey).toBe(apiKey);
  });

  it('shows the server’s validation error next to the field for an invalid title template, and marks it invalid', async () => {
    await page.focus('#title-template');
    await page.fill('#title-template', '{title} at {nope}');
    await page.keyboard.press('Enter');
    await expect.poll(() => text('#title-template-error').textContent()).toMatch(/^Calendar title template: placeholders must be among .*\(settings\.titleTemplate\)$/);
    expect(await text('#title-template').getAttribute('aria-invalid')).toBe('true');
    expect(await text('#title-template').getAttribute('aria-describedby')).toContain('title-template-error');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('title-template');
    expect((await tenants.get('web-key'))!.settings.titleTemplate).toBe('{title} with {customer_name}');
  });

  it('saves a valid mapping, which the API then answers', async () => {
    await page.fill('#time-zone', 'Europe/Berlin');
    await page.fill('#title-template', '{customer_name}: {title}');
    await page.fill('#email-types', 'email, newsletter');
    await page.fill('#phone-types', 'call');
    await page.fill('#overrides', 'usr_42 = anna@example.com\n\nusr_7 = bob');
    await page.click('#mapping-form button[type=submit]');
    await announced('Mapping saved.');
    expect(await text('#title-template').getAttribute('aria-invalid')).toBeNull();
    expect(await text('#title-template-error').isHidden()).toBe(true);
    const res = await app.inject({ method: 'GET', url: '/admin/tenants/web-key', headers: { authorization: `Bearer ${tokens['web-key']}` } });
    expect(res.json().settings).toMatchObject({
      defaultTimeZone: 'Europe/Berlin', titleTemplate: '{customer_name}: {title}',
      touchpointTypes: { email: ['email', 'newsletter'], phone: ['call'] },
      userMapping: { strategy: 'email', overrides: { usr_42: 'anna@example.com', usr_7: 'bob' } },
    });
  });

  it('switches two-way calendar sync on with a policy and the fields that flow back (issue 15)', async () => {
    expect(await page.isChecked('#wb-enabled')).toBe(false);
    expect(await page.inputValue('#wb-policy')).toBe('acme-wins');
    await page.check('#wb-enabled');
    await page.selectOption('#wb-policy', 'newest-wins');
    await page.uncheck('#wb-location');
    await page.click('#writeback-form button[type=submit]');
    await announced('Two-way sync saved: on.');
    expect((await tenants.get('web-key'))!.settings.writeback).toEqual({ enabled: true, conflictPolicy: 'newest-wins', fields: { title: true, time: true, location: false, status: true } });
    await page.uncheck('#wb-enabled');
    await page.click('#writeback-form button[type=submit]');
    await announced('Two-way sync saved: off.');
    expect((await tenants.get('web-key'))!.settings.writeback.enabled).toBe(false);
  });

  it('pauses and resumes, announcing each and keeping focus on the other button', async () => {
    await page.click('#pause');
    await expect.poll(() => text('#st-status').textContent()).toBe('Paused');
    await announced('Sync paused.');
    expect((await tenants.get('web-key'))!.status).toBe('paused');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('resume');
    await page.keyboard.press('Enter');
    await expect.poll(() => text('#st-status').textContent()).toBe('Active');
    expect((await tenants.get('web-key'))!.status).toBe('active');
  });

  it('starts a backfill since a date and watches its progress until done', async () => {
    await page.fill('#backfill-since', '2020-01-01');
    await page.click('#backfill-form button[type=submit]');
    await announced('Backfill started.');
    await expect.poll(() => text('#backfill-text').textContent(), { timeout: 15_000 }).toMatch(/^Done: 8 records/);
    await announced('Backfill done: 8 records.');
    const latest = await latestBackfill(stack.pool, 'web-key');
    expect(latest).toMatchObject({ status: 'succeeded', since: '2020-01-01T00:00:00.000Z', records: 8 });
    await expect.poll(() => text('#st-poll').textContent()).not.toBe('never');
  });

  it('lists a DLQ record, opens it, and replays it after a dry run', async () => {
    await page.click('#dlq-filter button[type=submit]');
    await expect.poll(() => text('#dlq-count').textContent()).toBe('1 record.');
    expect(await text('#dlq-list li').first().textContent()).toContain('VALIDATION_FAILED at validate');
    await page.locator('#dlq-list button').first().click();
    await expect.poll(() => text('#dlq-detail-payload').textContent()).toContain('"acme_id": "apt_broken"');
    // Acme's title is shown as text, never parsed as markup.
    expect(await text('#dlq-detail-payload').textContent()).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('#dlq-detail img').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('dlq-detail');

    expect(await text('#dlq-replay').isDisabled()).toBe(true);
    const sourceCount = async () => (await stack.admin.fetchTopicOffsets(stack.topics.appointments)).reduce((n, p) => n + Number(p.high), 0);
    const before = await sourceCount();
    await page.click('#dlq-dry-run');
    await expect.poll(() => text('#dlq-report-h').textContent()).toBe('Dry run report');
    expect(await text('#dlq-report-facts').textContent()).toContain('would replay1');
    expect(await sourceCount()).toBe(before);
    await page.click('#dlq-replay');
    await expect.poll(() => text('#dlq-report-h').textContent()).toBe('Replay report');
    expect(await text('#dlq-report-facts').textContent()).toContain('replayed1');
    await announced('Replay: replayed 1.');
    expect(await sourceCount()).toBe(before + 1);
    expect(await text('#dlq-replay').isDisabled()).toBe(true);
  });

  it('reaches every control with Tab alone, with a visible focus outline', async () => {
    await page.reload();
    await expect.poll(() => text('#st-status').textContent()).toBe('Active');
    const reached: string[] = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const el = await page.evaluate(() => {
        const a = document.activeElement as HTMLElement;
        return { name: a === document.body ? '' : a.id || a.textContent!.trim(), outline: getComputedStyle(a).outlineStyle };
      });
      // After the last control focus leaves the document (the body is active).
      if (el.name === '') break;
      // A date input takes one Tab per part (month, day, year).
      if (reached.at(-1) === el.name) continue;
      if (reached.includes(el.name)) break;
      reached.push(el.name);
      if (el.name !== 'Skip to content') expect(el.outline, el.name).toBe('solid');
    }
    expect(reached).toEqual([
      'Skip to content', 'sign-out', 'api-key', 'Save and activate', 'pause', 'refresh', 'activity-refresh', 'Touch-points per user and day',
      'time-zone', 'title-template', 'email-types', 'phone-types', 'overrides', 'Save mapping',
      'wb-enabled', 'wb-policy', 'wb-title', 'wb-time', 'wb-location', 'wb-status', 'Save two-way sync',
      'backfill-since', 'Start backfill',
      // The paged DLQ list (issue 16); its Newer/Older buttons are disabled with no entries.
      'dlqp-code', 'dlqp-stage', 'dlqp-entity', 'Filter',
      'dlq-code', 'dlq-stage', 'Show records', 'dlq-dry-run',
    ]);
  });

  it('fits a phone (390×844) without horizontal scrolling; screenshots of both layouts', async () => {
    await page.click('#dlq-filter button[type=submit]');
    await page.locator('#dlq-list button').first().click();
    await expect.poll(() => text('#dlq-detail').isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'settings-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, client: document.scrollingElement!.clientWidth }));
    expect(overflow.scroll).toBeLessThanOrEqual(overflow.client);
    await page.screenshot({ path: join(SCREENSHOTS, 'settings-phone.png'), fullPage: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SCREENSHOTS, 'settings-phone-top.png') });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('connects an OAuth tenant: Acme authorizes, the callback sends the browser back, the page shows connected', async () => {
    await page.click('#sign-out');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await signIn('web-oauth');
    expect(await text('#connection-state').textContent()).toBe('Not connected (OAuth)');
    await Promise.all([page.waitForURL(`${baseUrl}/settings`), page.click('#oauth-button')]);
    await expect.poll(() => text('#connection-state').textContent()).toBe('Connected (OAuth)');
    await announced('Connected to Acme.');
    expect((await tenants.get('web-oauth'))!.secretsSet.oauth).toBe(true);
  });
});

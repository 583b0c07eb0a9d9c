// Traffic generator: provisions N accounts x M users plus contacts, then spends an event
// budget on realistic CRM changes at a given rate, all through the store (so every change
// emits webhooks). Deterministic by seed; keeps a shadow model to compute the truth.

import type { OAuthClient } from '../auth.js';
import type { Clock } from '../clock.js';
import { createRng, type Rng } from '../prng.js';
import type { Store } from '../store.js';
import type { Account, User } from '../types.js';
import { pickAction, performAction, newContactFields, type ActionName } from './actions.js';
import { FIRST_NAMES, LAST_NAMES, TIME_ZONES, COMPANIES } from './pools.js';
import { calendarEvents, touchPoints, type Truth } from './truth.js';
import type { ShadowAccount, World } from './world.js';

export interface GeneratorOptions {
  seed: number;
  accounts: number;
  /** Users (sales reps) per account. */
  users: number;
  /** Contacts per account before the first action. */
  contacts: number;
  /** Total budget of actions (each one change, one event). */
  events: number;
  /** Actions per second; 0 = as fast as possible. */
  rate: number;
  /** First simulated day (YYYY-MM-DD). The default spans the US DST change of 2025. */
  startDate: string;
  /** Simulated days activities are spread over. */
  days: number;
  webhookPayload: 'full' | 'thin';
  redirectUris: string[];
  /** Subscribes this URL (all event types) for every generated account before any data exists. */
  webhookUrl: string | null;
  /**
   * When false, accounts, users and contacts are created at once but the changes wait
   * for `run.start()`: a test can connect its receiver to the accounts first.
   */
  autoStart: boolean;
}

export const DEFAULT_GENERATOR_OPTIONS: GeneratorOptions = {
  seed: 1,
  accounts: 2,
  users: 3,
  contacts: 10,
  events: 200,
  rate: 0,
  startDate: '2025-03-06',
  days: 5,
  webhookPayload: 'full',
  redirectUris: ['http://127.0.0.1:3001/oauth/callback', 'http://localhost:3001/oauth/callback'],
  webhookUrl: null,
  autoStart: true,
};

export interface GeneratedAccount {
  account_id: string;
  name: string;
  api_key: string;
  oauth_client: OAuthClient;
  webhook_subscription: { id: string; url: string; secret: string } | null;
}

export type GeneratorState = 'idle' | 'running' | 'finished' | 'stopped';

export interface GeneratorStatus {
  state: GeneratorState;
  seed: number;
  events_done: number;
  events_total: number;
  accounts: GeneratedAccount[];
}

export interface GeneratorDeps {
  store: Store;
  clock: Clock;
  provisionAccount(input: { name: string; webhook_payload: 'full' | 'thin' }): { account: Account; api_key: string };
  createOAuthClient(input: { account_id: string; redirect_uris: string[]; name: string }): OAuthClient;
  subscribe(accountId: string, url: string): { id: string; secret: string };
}

export interface GeneratorRun {
  /** Accounts with credentials; available as soon as the run is created. */
  accounts: GeneratedAccount[];
  /** Resolves with the truth once the budget is spent (or the run is stopped). */
  done: Promise<Truth>;
  /** Begin the changes (only needed with `autoStart: false`; idempotent). */
  start(): void;
  status(): GeneratorStatus;
  stop(): void;
  truth(): Truth;
}

const BATCH = 250; // actions between yields in as-fast-as-possible mode

function setupAccount(deps: GeneratorDeps, rng: Rng, opts: GeneratorOptions, index: number): { shadow: ShadowAccount; creds: GeneratedAccount } {
  const company = `${rng.pick(COMPANIES)} ${index + 1}`;
  const { account, api_key } = deps.provisionAccount({ name: `${company} Sales`, webhook_payload: opts.webhookPayload });
  // `{account_id}` in the URL becomes the account's ID: receivers that route per tenant.
  const url = opts.webhookUrl?.replaceAll('{account_id}', account.id) ?? null;
  const sub = url ? deps.subscribe(account.id, url) : null;
  const webhook_subscription = sub && url ? { id: sub.id, url, secret: sub.secret } : null;
  const domain = `${company.toLowerCase().replace(/[^a-z0-9]/g, '')}.acme.test`;
  const users: User[] = [];
  for (let u = 0; u < opts.users; u++) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const email = `${first}.${last}.${u + 1}`.toLowerCase().replace(/[^a-z0-9.]/g, '') + `@${domain}`;
    users.push(deps.store.createUser(account.id, { name: `${first} ${last}`, email, time_zone: rng.pick(TIME_ZONES) }));
  }
  const shadow: ShadowAccount = { id: account.id, name: account.name, users, contacts: new Map(), appointments: new Map(), activities: new Map() };
  for (let c = 0; c < opts.contacts; c++) {
    const fields = newContactFields(rng);
    const contact = deps.store.create('contact', account.id, fields);
    shadow.contacts.set(contact.id, { ...fields, id: contact.id, version: 1, deleted: false });
  }
  const oauth_client = deps.createOAuthClient({ account_id: account.id, redirect_uris: opts.redirectUris, name: `${company} integration` });
  return { shadow, creds: { account_id: account.id, name: account.name, api_key, oauth_client, webhook_subscription } };
}

export function createGenerator(deps: GeneratorDeps, options: Partial<GeneratorOptions> = {}): GeneratorRun {
  const opts: GeneratorOptions = { ...DEFAULT_GENERATOR_OPTIONS, ...options };
  const rng = createRng(opts.seed).fork('generator');
  const setups = Array.from({ length: opts.accounts }, (_, i) => setupAccount(deps, rng, opts, i));
  const world: World = { accounts: setups.map((s) => s.shadow) };
  const accounts = setups.map((s) => s.creds);
  const byAction: Record<string, number> = {};
  let done = 0;
  let state: GeneratorState = 'running';
  let finish: (t: Truth) => void = () => undefined;
  const finished = new Promise<Truth>((resolve) => (finish = resolve));

  const truth = (): Truth => ({
    seed: opts.seed,
    accounts: world.accounts.map((a) => ({ account_id: a.id, name: a.name, users: a.users.map(({ id, name, email, time_zone }) => ({ id, name, email, time_zone })) })),
    calendar_events: calendarEvents(world),
    touch_points: touchPoints(world),
    bad_records: deps.store.badRecords().filter((b) => world.accounts.some((a) => a.id === b.account_id)).sort((a, b) => (a.id < b.id ? -1 : 1)),
    stats: { events: done, by_action: { ...byAction } },
  });

  const step = (): void => {
    const account = rng.pick(world.accounts);
    const performed: ActionName = performAction({ store: deps.store, rng, account, startDate: opts.startDate, days: opts.days }, pickAction(rng));
    byAction[performed] = (byAction[performed] ?? 0) + 1;
    done += 1;
  };

  const end = (final: GeneratorState): void => {
    if (state !== 'running') return;
    state = final;
    finish(truth());
  };

  const runFast = (): void => {
    if (state !== 'running') return;
    for (let i = 0; i < BATCH && done < opts.events; i++) step();
    if (done >= opts.events) return end('finished');
    setImmediate(runFast); // let HTTP requests and deliveries through between batches
  };

  // Paced mode: due actions are computed from elapsed time, so slow ticks catch up.
  let startedAt = deps.clock.now();
  const tickMs = opts.rate > 0 ? Math.max(5, Math.min(1000, 1000 / opts.rate)) : 0;
  const runPaced = (): void => {
    if (state !== 'running') return;
    const due = Math.min(opts.events, Math.floor(((deps.clock.now() - startedAt) / 1000) * opts.rate) + 1);
    while (done < due) step();
    if (done >= opts.events) return end('finished');
    deps.clock.setTimeout(runPaced, tickMs);
  };

  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    startedAt = deps.clock.now();
    if (opts.events === 0) end('finished');
    else if (opts.rate > 0) runPaced();
    else setImmediate(runFast);
  };
  if (opts.autoStart) start();

  return {
    accounts,
    start,
    done: finished,
    status: () => ({ state, seed: opts.seed, events_done: done, events_total: opts.events, accounts }),
    stop: () => end('stopped'),
    truth,
  };
}

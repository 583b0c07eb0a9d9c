// Wires the sandbox together: store, credentials, faults, webhook dispatcher and the
// fastify app that exposes them. Everything is in memory; tests can use the returned
// handles directly or go through HTTP (inject or a real socket).

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { createAuth, type Auth, type AuthOptions, type OAuthClient } from './auth.js';
import { createSystemClock, type Clock } from './clock.js';
import { createFaults, type FaultConfig, type Faults } from './faults.js';
import { registerAdminRoutes } from './http/admin-routes.js';
import { registerAuthHook, registerFaultHook } from './http/api-guards.js';
import type { SandboxContext } from './http/context.js';
import { ApiError, errorBody } from './http/errors.js';
import { registerOAuthRoutes } from './http/oauth-routes.js';
import { registerResourceRoutes } from './http/resource-routes.js';
import { registerWebhookRoutes } from './http/webhook-routes.js';
import { createIdempotency } from './idempotency.js';
import { createGenerator, type GeneratorOptions, type GeneratorRun } from './generator/generator.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { createStore, type BadDataHook, type Store } from './store.js';
import type { Account, RateLimitConfig } from './types.js';
import { createDispatcher, DEFAULT_DISPATCHER_OPTIONS, type Dispatcher, type DispatcherOptions } from './webhooks/dispatcher.js';
import { createSubscriptions, type Subscriptions } from './webhooks/subscriptions.js';

export interface SandboxOptions {
  /** Seeds every random stream (faults, generator default). Default 1. */
  seed?: number;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
  auth?: Partial<AuthOptions>;
  /** Default per-account token bucket; null disables rate limiting. */
  rateLimit?: RateLimitConfig | null;
  webhooks?: Partial<DispatcherOptions> & { secretGraceSeconds?: number };
  faults?: Partial<FaultConfig>;
}

export interface ProvisionInput {
  id?: string;
  name?: string;
  webhook_payload?: Account['webhook_payload'];
  rate_limit?: Account['rate_limit'];
  api_key?: string;
}

export interface ProvisionedAccount {
  account: Account;
  api_key: string;
}

export interface Sandbox {
  app: FastifyInstance;
  clock: Clock;
  store: Store;
  auth: Auth;
  faults: Faults;
  subscriptions: Subscriptions;
  deliveries: Dispatcher;
  rateLimiter: RateLimiter;
  context: SandboxContext;
  provisionAccount(input?: ProvisionInput): ProvisionedAccount;
  createOAuthClient(input: { account_id: string; redirect_uris: string[]; name?: string }): OAuthClient;
  /** Starts the traffic generator (one run at a time); seed defaults to the sandbox seed. */
  startGenerator(options?: Partial<GeneratorOptions>): GeneratorRun;
  /** The current or last generator run, if any. */
  generator(): GeneratorRun | null;
  /** Clears all state (accounts, records, credentials, deliveries); faults keep their switches. */
  reset(seed?: number): void;
  /** Starts listening; resolves to the base URL. Defaults: 127.0.0.1:4010. */
  listen(opts?: { port?: number; host?: string }): Promise<string>;
  url(): string | null;
  close(): Promise<void>;
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = { capacity: 100, refillPerSecond: 20 };

function createBadDataHook(faults: Faults): BadDataHook {
  return (type, _accountId, record) => {
    const kind = faults.forNewRecord(type);
    if (!kind || type === 'contact') return null;
    if (kind === 'missing_starts_at' && 'starts_at' in record) {
      record.starts_at = null;
      return { kind, detail: 'appointment has no starts_at' };
    }
    if (kind === 'unknown_contact' && 'contact_id' in record) {
      record.contact_id = `con_unknown_${record.id.slice(4)}`;
      return { kind, detail: `references contact ${record.contact_id}, which does not exist` };
    }
    return null;
  };
}

function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, _request, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(errorBody(err.code, err.message, err.details));
    const e = err as { statusCode?: number; message?: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    return reply.code(status).send(errorBody(status === 500 ? 'internal_error' : 'invalid_request', e.message ?? 'error'));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`)));
}

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const clock = options.clock ?? createSystemClock();
  const seed = options.seed ?? 1;
  const store = createStore(clock);
  const ids = () => store.ids;
  const auth = createAuth(clock, ids, { accessTokenTtlSeconds: 3600, refreshTokenTtlSeconds: 30 * 86400, authCodeTtlSeconds: 60, ...options.auth });
  const faults = createFaults({ seed, ...options.faults });
  const subscriptions = createSubscriptions(clock, ids);
  const dispatcher = createDispatcher({ clock, store, faults, subscriptions, ids, options: { ...DEFAULT_DISPATCHER_OPTIONS, ...options.webhooks } });
  const rateLimiter = createRateLimiter(clock);
  const idempotency = createIdempotency(clock);
  store.setBadDataHook(createBadDataHook(faults));
  store.onChange((change) => dispatcher.publish(change));

  const context: SandboxContext = {
    clock,
    store,
    auth,
    faults,
    idempotency,
    rateLimiter,
    subscriptions,
    dispatcher,
    defaultRateLimit: options.rateLimit === undefined ? DEFAULT_RATE_LIMIT : options.rateLimit,
    secretGraceSeconds: options.webhooks?.secretGraceSeconds ?? 86400,
  };

  const app = Fastify({ logger: options.logger ?? false });
  installErrorHandlers(app);
  registerFaultHook(app, context);
  registerAuthHook(app, context);
  registerOAuthRoutes(app, context);
  registerResourceRoutes(app, context);
  registerWebhookRoutes(app, context);

  const provisionAccount = (input: ProvisionInput = {}): ProvisionedAccount => {
    const { api_key, ...accountInput } = input;
    const account = store.createAccount(accountInput);
    return { account, api_key: auth.createApiKey(account.id, api_key) };
  };

  let run: GeneratorRun | null = null;
  const startGenerator = (opts: Partial<GeneratorOptions> = {}): GeneratorRun => {
    if (run?.status().state === 'running') throw new ApiError(409, 'generator_running', 'A generator run is in progress; stop it first.');
    const subscribe = (accountId: string, url: string): { id: string; secret: string } => {
      const { subscription, secret } = subscriptions.create(accountId, url, ['*']);
      return { id: subscription.id, secret };
    };
    run = createGenerator({ store, clock, provisionAccount, createOAuthClient: (i) => auth.createClient(i), subscribe }, { seed: faults.config().seed, ...opts });
    return run;
  };

  const reset = (newSeed?: number): void => {
    run?.stop();
    run = null;
    dispatcher.reset();
    store.reset();
    auth.reset();
    subscriptions.reset();
    rateLimiter.reset();
    idempotency.reset();
    if (newSeed !== undefined) faults.set({ seed: newSeed });
  };

  registerAdminRoutes(app, context, { reset, provisionAccount, startGenerator, generator: () => run });

  let baseUrl: string | null = null;
  return {
    app,
    clock,
    store,
    auth,
    faults,
    subscriptions,
    deliveries: dispatcher,
    rateLimiter,
    context,
    provisionAccount,
    createOAuthClient: (input) => auth.createClient(input),
    startGenerator,
    generator: () => run,
    reset,
    async listen(opts = {}) {
      const address = await app.listen({ port: opts.port ?? 4010, host: opts.host ?? '127.0.0.1' });
      baseUrl = address.replace('://[::1]', '://localhost');
      return baseUrl;
    },
    url: () => baseUrl,
    async close() {
      run?.stop();
      dispatcher.close();
      await app.close();
    },
  };
}

// Command-line flags -> sandbox, listener and generator options. Separate from cli.ts
// so tests can check the mapping without starting a server.

import { Command, InvalidArgumentError, Option } from 'commander';
import { BAD_DATA_KINDS } from './faults.js';
import type { GeneratorOptions } from './generator/generator.js';
import type { SandboxOptions } from './sandbox.js';
import type { BadDataKind } from './types.js';

export interface CliConfig {
  port: number;
  host: string;
  sandbox: SandboxOptions;
  generator: Partial<GeneratorOptions>;
  truthFile: string | null;
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
};
const num = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
};
const prob = (v: string): number => {
  const n = num(v);
  if (n > 1) throw new InvalidArgumentError('expected a probability between 0 and 1');
  return n;
};
const kinds = (v: string): BadDataKind[] => {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const k of list) if (!(BAD_DATA_KINDS as readonly string[]).includes(k)) throw new InvalidArgumentError(`unknown bad-data kind ${k}`);
  return list as BadDataKind[];
};
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

export function buildProgram(): Command {
  return new Command('sandbox')
    .description("Acme CRM sandbox: Acme's public API, webhooks, faults and a traffic generator")
    .option('--port <n>', 'port to listen on (0 = any free port)', int, 4010)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--seed <n>', 'seed for faults and generator', int, 1)
    .option('--log', 'log every request (pino)', false)
    // generator
    .option('--accounts <n>', 'accounts to create', int, 2)
    .option('--users <n>', 'users (sales reps) per account', int, 3)
    .option('--contacts <n>', 'contacts per account at start', int, 10)
    .option('--events <n>', 'total generated changes (0 = only create accounts, users, contacts)', int, 500)
    .option('--rate <n>', 'generated changes per second (0 = as fast as possible)', num, 0)
    .option('--start-date <day>', 'first simulated day, YYYY-MM-DD', '2025-03-06')
    .option('--days <n>', 'simulated days the activity spans', int, 5)
    .addOption(new Option('--payload <mode>', 'webhook payload of generated accounts').choices(['full', 'thin']).default('full'))
    .option('--webhook-url <url>', 'subscribe this URL (all events) for every generated account before any data exists')
    .option('--redirect-uri <uri>', 'OAuth redirect URI for generated clients (repeatable)', collect)
    .option('--truth-file <path>', 'write the truth JSON here when the generator finishes')
    // faults
    .option('--duplicate <p>', 'probability a webhook is delivered twice', prob, 0)
    .option('--reorder <p>', 'probability a webhook is held back and overtaken by later ones', prob, 0)
    .option('--reorder-window <n>', 'a held webhook is overtaken by 1..n later ones', int, 5)
    .option('--reorder-max-hold-ms <ms>', 'longest a held webhook waits', int, 2000)
    .option('--late <p>', 'probability a webhook is delayed by --late-ms', prob, 0)
    .option('--late-ms <ms>', 'delay of late webhooks', int, 5000)
    .option('--lose <p>', 'probability a webhook is never sent', prob, 0)
    .option('--outage-5xx <p>', 'probability an API request gets 500/502/503', prob, 0)
    .option('--refuse <p>', 'probability an API connection is destroyed without an answer', prob, 0)
    .option('--lost-answer <p>', 'probability an API write is applied but its answer is lost', prob, 0)
    .option('--slow-ms <ms>', 'latency added to API answers', int, 0)
    .option('--slow <p>', 'probability an API answer gets --slow-ms', prob, 1)
    .option('--bad-data <p>', 'probability a new appointment/activity or a webhook body is corrupted', prob, 0)
    .option('--bad-data-kinds <list>', `comma list of ${BAD_DATA_KINDS.join(',')}`, kinds, [...BAD_DATA_KINDS])
    // auth, rate limit, delivery
    .option('--token-ttl <s>', 'OAuth access token lifetime in seconds', int, 3600)
    .option('--refresh-ttl <s>', 'OAuth refresh token lifetime in seconds', int, 30 * 86400)
    .option('--rate-limit-capacity <n>', 'token bucket size per account', int, 100)
    .option('--rate-limit-refill <n>', 'tokens per second per account', num, 20)
    .option('--no-rate-limit', 'disable rate limiting')
    .option('--retry-base-ms <ms>', 'first webhook retry delay (doubles each time)', int, 1000)
    .option('--retry-max-ms <ms>', 'cap on the webhook retry delay', int, 60_000)
    .option('--max-attempts <n>', 'webhook attempts before giving up', int, 8)
    .option('--delivery-timeout-ms <ms>', 'how long a receiver may take to answer', int, 5000)
    .option('--secret-grace-seconds <s>', 'default validity of a rotated-out webhook secret', int, 86400);
}

export function parseCli(argv: string[]): CliConfig {
  const program = buildProgram().exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts();
  return {
    port: o.port,
    host: o.host,
    truthFile: o.truthFile ?? null,
    sandbox: {
      seed: o.seed,
      logger: o.log,
      auth: { accessTokenTtlSeconds: o.tokenTtl, refreshTokenTtlSeconds: o.refreshTtl },
      rateLimit: o.rateLimit === false ? null : { capacity: o.rateLimitCapacity, refillPerSecond: o.rateLimitRefill },
      webhooks: { retryBaseMs: o.retryBaseMs, retryMaxMs: o.retryMaxMs, maxAttempts: o.maxAttempts, timeoutMs: o.deliveryTimeoutMs, secretGraceSeconds: o.secretGraceSeconds },
      faults: {
        seed: o.seed,
        duplicate: o.duplicate,
        reorder: o.reorder,
        reorderWindow: o.reorderWindow,
        reorderMaxHoldMs: o.reorderMaxHoldMs,
        late: o.late,
        lateMs: o.lateMs,
        lose: o.lose,
        outage5xx: o.outage5xx,
        refuse: o.refuse,
        lostAnswer: o.lostAnswer,
        slowMs: o.slowMs,
        slow: o.slow,
        badData: o.badData,
        badDataKinds: o.badDataKinds,
      },
    },
    generator: {
      seed: o.seed,
      accounts: o.accounts,
      users: o.users,
      contacts: o.contacts,
      events: o.events,
      rate: o.rate,
      startDate: o.startDate,
      days: o.days,
      webhookPayload: o.payload,
      webhookUrl: o.webhookUrl ?? null,
      ...(o.redirectUri ? { redirectUris: o.redirectUri } : {}),
    },
  };
}

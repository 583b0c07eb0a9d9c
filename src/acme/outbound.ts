/**
 * The one outbound HTTP client for everything that calls Acme (REST client, OAuth code
 * exchange and refresh, webhook subscriptions). A tenant controls its base URL, so every
 * request is treated as a possible server-side request forgery (OWASP SSRF prevention
 * cheat sheet) and is refused unless:
 *
 * - its origin matches the operator's allow-list (ACME_ALLOWED_BASE_URLS; a pattern's
 *   port may be `*`), the scheme is http(s) and the URL carries no userinfo;
 * - the address actually connected to is a public unicast address: checked at connect
 *   time inside undici's connector (the DNS answer used for the socket is the one checked,
 *   so DNS rebinding cannot swap it afterwards; IP literals are checked before connecting).
 *   ipaddr.js classifies the ranges (IPv4, IPv6, IPv4-mapped IPv6, 6to4, NAT64 ... —
 *   anything but `unicast` is refused). ACME_ALLOW_PRIVATE_NETWORK lifts only this check,
 *   for the local sandbox in development;
 * - it is not redirected: redirects are never followed (a 307 once turned a DELETE into a
 *   DELETE on an internal service); a 3xx is an error naming only the Location host;
 * - it connects within `connectTimeoutMs`, completes within the caller's total timeout and
 *   its body stays under `maxResponseBytes` (read as a stream, aborted past the cap).
 */
import dns from 'node:dns';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { ERROR_CODES, PermanentError, TransientError, type Stage } from '../errors/index.js';

/** What a tenant may read about a failed call to Acme, per class (docs/SECURITY.md). */
export const ACME_PUBLIC_TEXT = {
  credentials: 'Acme rejected the credentials',
  timeout: 'Acme did not answer in time',
  error: 'Acme answered with an error',
  rateLimited: 'Acme asked us to slow down',
  refused: 'The Acme address is not allowed',
  redirect: 'Acme answered with a redirect',
} as const;

export interface AcmeOutboundOptions {
  /** Origins Acme calls may go to: `https://api.example.com`, `http://127.0.0.1:*`. */
  allowedBaseUrls: readonly string[];
  /** Development only: allow-listed hosts may be on loopback/private addresses. */
  allowPrivateNetwork?: boolean;
  connectTimeoutMs?: number;
  maxResponseBytes?: number;
  /** DNS resolution (tests); Node's dns.lookup by default. */
  lookup?: typeof dns.lookup;
  /** Where the detail of a failed exchange goes, under the reference the tenant sees. */
  logger?: Logger;
}

export interface OutboundAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** Our reference for this exchange: in logs with the upstream detail, in tenant-visible messages. */
  ref: string;
}

export interface AcmeOutbound {
  readonly allowedBaseUrls: readonly string[];
  /** Is this a base URL the operator allows (tenant input is checked with it)? */
  isAllowedBaseUrl(url: string): boolean;
  request(url: string, init: { method: string; headers?: Record<string, string>; body?: string }, options: { timeoutMs: number; stage: Stage; what: string }): Promise<OutboundAnswer>;
  close(): Promise<void>;
}

interface OriginPattern {
  protocol: string;
  hostname: string;
  /** '' for the scheme's default port, '*' for any. */
  port: string;
}

/** `scheme://host[:port|:*]` with nothing else; throws naming what is wrong. */
export function parseOriginPattern(raw: string): OriginPattern {
  const m = /^(https?):\/\/([^/?#@\s]+?)(?::(\d{1,5}|\*))?\/?$/i.exec(raw.trim());
  if (!m) throw new Error(`expected scheme://host[:port|:*] without path or userinfo, got ${JSON.stringify(raw)}`);
  const url = new URL(`${m[1]}://${m[2]}`);
  const port = m[3] === '*' ? '*' : m[3] === undefined ? '' : new URL(`${m[1]}://${m[2]}:${m[3]}`).port;
  return { protocol: url.protocol, hostname: url.hostname, port };
}

/** The scheme/userinfo rules every Acme URL must meet; the parsed URL or a reason. */
export function checkUrlShape(raw: string): { url: URL } | { reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { reason: 'not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { reason: 'scheme is not http(s)' };
  if (url.username !== '' || url.password !== '') return { reason: 'URL carries userinfo' };
  if (url.hostname === '') return { reason: 'URL has no host' };
  return { url };
}

export function originAllowed(url: URL, patterns: readonly OriginPattern[]): boolean {
  return patterns.some((p) => p.protocol === url.protocol && p.hostname === url.hostname && (p.port === '*' || p.port === url.port));
}

/** Is `url` a base URL the allow-list admits (http(s), no userinfo, an allowed origin)? */
export function isAllowedBaseUrl(url: string, allowedBaseUrls: readonly string[]): boolean {
  const shape = checkUrlShape(url);
  return 'url' in shape && originAllowed(shape.url, allowedBaseUrls.map(parseOriginPattern));
}

/**
 * Why an address may not be connected to, or undefined for a public unicast address.
 * ipaddr.js `process` turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into IPv4 first.
 */
export function refusedRange(address: string): string | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (!net.isIP(bare.split('%')[0]!)) return 'not an IP address';
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.process(bare.split('%')[0]!);
  } catch {
    return 'not an IP address';
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}

const refused = (host: string, range: string, stage: Stage) =>
  new PermanentError(ACME_PUBLIC_TEXT.refused, { code: ERROR_CODES.ACME_ADDRESS_REFUSED, stage, context: { host, range } });

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** dns.lookup that refuses non-public answers: what the socket connects to is what was checked. */
function guardedLookup(lookup: typeof dns.lookup) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as dns.LookupAddress[];
      const bad = list.map((a) => [a.address, refusedRange(a.address)] as const).find(([, r]) => r !== undefined);
      if (bad || list.length === 0) {
        // net hands this error to the socket's 'error' event; undici rejects the fetch with it as the cause.
        return callback(refused(hostname, bad ? `${bad[1]} (${bad[0]})` : 'unresolvable', 'poll') as unknown as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** undici connector: IP literals checked before connecting, names through the guarded lookup. */
function guardedConnector(options: { connectTimeoutMs: number; lookup: typeof dns.lookup; checkAddresses: boolean }): buildConnector.connector {
  const base = buildConnector({ timeout: options.connectTimeoutMs, ...(options.checkAddresses ? { lookup: guardedLookup(options.lookup) } : {}) } as buildConnector.BuildOptions);
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    if (options.checkAddresses && net.isIP(host)) {
      const range = refusedRange(host);
      if (range) return callback(refused(host, range, 'poll'), null);
    }
    return base(opts, callback);
  };
}

export function newRef(): string {
  return `acr_${randomBytes(6).toString('hex')}`;
}

/** Read at most `max` bytes of the body; past that the stream is cancelled. */
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number, what: string, stage: Stage, ref: string): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new PermanentError(`${ACME_PUBLIC_TEXT.error} (${what}, ref ${ref})`, { code: ERROR_CODES.ACME_BAD_RESPONSE, stage, context: { operation: what, reason: `body over ${max} bytes`, ref } });
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createAcmeOutbound(options: AcmeOutboundOptions): AcmeOutbound {
  const patterns = options.allowedBaseUrls.map(parseOriginPattern);
  const maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
  const agent = new Agent({
    connect: guardedConnector({ connectTimeoutMs: options.connectTimeoutMs ?? 3_000, lookup: options.lookup ?? dns.lookup, checkAddresses: !options.allowPrivateNetwork }),
    // No pooled connection outlives a policy decision for long.
    keepAliveTimeout: 4_000,
  });

  function isAllowedBaseUrl(raw: string): boolean {
    const shape = checkUrlShape(raw);
    return 'url' in shape && originAllowed(shape.url, patterns);
  }

  return {
    allowedBaseUrls: options.allowedBaseUrls,
    isAllowedBaseUrl,
    async request(raw, init, { timeoutMs, stage, what }) {
      const ref = newRef();
      const fail = (err: Error): never => {
        options.logger?.warn({ err, ref, operation: what }, 'Acme request refused or failed');
        throw err;
      };
      const said = (t: string) => `${t} (${what}, ref ${ref})`;
      const shape = checkUrlShape(raw);
      if (!('url' in shape)) return fail(new PermanentError(said(ACME_PUBLIC_TEXT.refused), { code: ERROR_CODES.ACME_ADDRESS_REFUSED, stage, context: { operation: what, reason: shape.reason, ref } }));
      if (!originAllowed(shape.url, patterns)) {
        return fail(new PermanentError(said(ACME_PUBLIC_TEXT.refused), { code: ERROR_CODES.ACME_ADDRESS_REFUSED, stage, context: { operation: what, reason: 'not in ACME_ALLOWED_BASE_URLS', host: shape.url.host, ref } }));
      }
      const signal = AbortSignal.timeout(timeoutMs);
      let res: Awaited<ReturnType<typeof undiciFetch>>;
      try {
        res = await undiciFetch(shape.url, { ...init, redirect: 'manual', signal, dispatcher: agent });
      } catch (err) {
        return fail(networkError(err, { what, stage, ref }));
      }
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => undefined);
        const location = res.headers.get('location');
        let host = 'nowhere';
        try {
          if (location !== null) host = new URL(location, shape.url).host;
        } catch {
          host = 'an invalid URL';
        }
        return fail(new PermanentError(said(`${ACME_PUBLIC_TEXT.redirect} to ${host}`), { code: ERROR_CODES.ACME_REDIRECT, stage, context: { operation: what, status: res.status, host, ref } }));
      }
      let text: string;
      try {
        text = await readCapped(res.body as ReadableStream<Uint8Array> | null, maxBytes, what, stage, ref);
      } catch (err) {
        if (err instanceof PermanentError) return fail(err);
        return fail(networkError(err, { what, stage, ref }));
      }
      return { status: res.status, headers: res.headers as unknown as Headers, text, ref };
    },
    close: () => agent.close(),
  };
}

/**
 * A failed exchange: our own refusal keeps its code; anything else is ACME_UNAVAILABLE
 * with one text for every cause (refused, reset, timed out): distinct texts would let a
 * tenant scan ports. The socket detail stays in the context (logs only).
 */
function networkError(err: unknown, o: { what: string; stage: Stage; ref: string }): Error {
  const e = err as Error & { cause?: Error & { code?: string } };
  const ours = [e, e.cause].find((x) => x instanceof PermanentError) as PermanentError | undefined;
  if (ours) {
    const refusal = new PermanentError(`${ACME_PUBLIC_TEXT.refused} (${o.what}, ref ${o.ref})`, { code: ours.code, stage: o.stage, context: { ...ours.context, operation: o.what, ref: o.ref } });
    return refusal;
  }
  const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError' || e.cause?.code === 'UND_ERR_CONNECT_TIMEOUT';
  const detail = `${e.message}${e.cause?.code ? ` (${e.cause.code})` : e.cause?.message ? ` (${e.cause.message})` : ''}`;
  return new TransientError(`${ACME_PUBLIC_TEXT.timeout} (${o.what}, ref ${o.ref})`, {
    code: ERROR_CODES.ACME_UNAVAILABLE, stage: o.stage, context: { operation: o.what, timeout: timedOut, ref: o.ref, detail: detail.slice(0, 300) },
  });
}

/** The outbound client the configuration describes. */
export function acmeOutboundOf(config: Pick<Config, 'ACME_ALLOWED_BASE_URLS' | 'ACME_ALLOW_PRIVATE_NETWORK' | 'ACME_CONNECT_TIMEOUT_MS' | 'ACME_MAX_RESPONSE_BYTES'>, logger?: Logger): AcmeOutbound {
  return createAcmeOutbound({
    logger,
    allowedBaseUrls: config.ACME_ALLOWED_BASE_URLS,
    allowPrivateNetwork: config.ACME_ALLOW_PRIVATE_NETWORK,
    connectTimeoutMs: config.ACME_CONNECT_TIMEOUT_MS,
    maxResponseBytes: config.ACME_MAX_RESPONSE_BYTES,
  });
}

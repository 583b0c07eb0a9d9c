/**
 * The outbound guard against generated hostile URLs (issue #11: `http://[::1]:…`,
 * `http://0x7f000001:…` and `https://user:pass@…` were accepted, and a tenant-chosen base
 * URL could reach loopback services). fast-check generates the class: every non-public
 * IPv4 address in every encoding the WHATWG URL parser accepts (dotted, one integer, hex,
 * octal, short forms), IPv6 forms (compressed, expanded, IPv4-mapped in both notations,
 * NAT64, 6to4, link-local, unique-local, multicast, unspecified), URLs with userinfo and
 * other schemes. Even when a careless operator allow-lists the very origin, no request
 * may leave: the answer must be ACME_ADDRESS_REFUSED (a connection attempt to a closed
 * local port would instead fail as ACME_UNAVAILABLE, so the test can tell).
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkUrlShape, createAcmeOutbound, isAllowedBaseUrl, parseOriginPattern, refusedRange, type AcmeOutbound } from '../../src/acme/outbound.js';
import { AcmeSyncError, ERROR_CODES } from '../../src/errors/index.js';

const byte = fc.integer({ min: 0, max: 255 });

/** Non-public IPv4 ranges as [first octets] + how many random octets follow. */
const privateV4 = fc.oneof(
  fc.tuple(fc.constant(127), byte, byte, byte),
  fc.tuple(fc.constant(10), byte, byte, byte),
  fc.tuple(fc.constant(172), fc.integer({ min: 16, max: 31 }), byte, byte),
  fc.tuple(fc.constant(192), fc.constant(168), byte, byte),
  fc.tuple(fc.constant(169), fc.constant(254), byte, byte),
  fc.tuple(fc.constant(0), byte, byte, byte),
  fc.tuple(fc.constant(100), fc.integer({ min: 64, max: 127 }), byte, byte),
  fc.tuple(fc.integer({ min: 224, max: 255 }), byte, byte, byte),
);

type Octets = [number, number, number, number];
const asInt = ([a, b, c, d]: Octets) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;

/** The encodings a URL host may use for one IPv4 address. */
const encodings: Array<[string, (o: Octets) => string]> = [
  ['dotted decimal', (o) => o.join('.')],
  ['one decimal integer', (o) => String(asInt(o))],
  ['one hex integer', (o) => `0x${asInt(o).toString(16)}`],
  ['dotted hex', (o) => o.map((x) => `0x${x.toString(16)}`).join('.')],
  ['dotted octal', (o) => o.map((x) => `0${x.toString(8)}`).join('.')],
  ['a.b (24-bit tail)', ([a, b, c, d]) => `${a}.${(b << 16) + (c << 8) + d}`],
  ['a.b.c (16-bit tail)', ([a, b, c, d]) => `${a}.${b}.${(c << 8) + d}`],
  ['IPv4-mapped IPv6', (o) => `[::ffff:${o.join('.')}]`],
  ['IPv4-mapped IPv6, hex', ([a, b, c, d]) => `[::ffff:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}]`],
  ['IPv4-mapped IPv6, expanded', ([a, b, c, d]) => `[0:0:0:0:0:ffff:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}]`],
  ['NAT64', ([a, b, c, d]) => `[64:ff9b::${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}]`],
  ['6to4', ([a, b, c, d]) => `[2002:${((a << 8) + b).toString(16)}:${((c << 8) + d).toString(16)}::]`],
];

const hex16 = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const privateV6 = fc.oneof(
  fc.constant('[::1]'),
  fc.constant('[0:0:0:0:0:0:0:1]'),
  fc.constant('[::]'),
  hex16.map((h) => `[fe80::${h}]`),
  fc.tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), hex16).map(([p, h]) => `[${p.toString(16)}::${h}]`),
  fc.tuple(fc.integer({ min: 0xff00, max: 0xffff }), hex16).map(([p, h]) => `[${p.toString(16)}::${h}]`),
);

const hostileHost = fc.oneof(
  fc.tuple(privateV4, fc.integer({ min: 0, max: encodings.length - 1 })).map(([o, i]) => encodings[i]![1](o as Octets)),
  privateV6,
);
const scheme = fc.constantFrom('http', 'https');
/** A port nothing listens on: a connection attempt would fail fast as ACME_UNAVAILABLE (not 9: fetch refuses "bad ports" itself). */
const PORT = 65_321;

let outbounds: AcmeOutbound[] = [];
afterAll(async () => {
  await Promise.all(outbounds.map((o) => o.close()));
});

/** What a careless operator does: allow-list exactly this origin. */
function allowing(url: string): AcmeOutbound {
  const u = new URL(url);
  const o = createAcmeOutbound({ allowedBaseUrls: [`${u.protocol}//${u.host}`], connectTimeoutMs: 1_000 });
  outbounds.push(o);
  return o;
}

async function codeOf(outbound: AcmeOutbound, url: string): Promise<string> {
  try {
    await outbound.request(url, { method: 'GET' }, { timeoutMs: 2_000, stage: 'poll', what: 'test' });
    return 'sent';
  } catch (err) {
    return (err as AcmeSyncError).code;
  }
}

describe('the Acme outbound guard', () => {
  it('classifies every generated non-public address, in every encoding, as refused', () => {
    fc.assert(fc.property(scheme, hostileHost, (s, host) => {
      const shape = checkUrlShape(`${s}://${host}:${PORT}/v1/users`);
      expect('url' in shape).toBe(true);
      const hostname = (shape as { url: URL }).url.hostname;
      expect(refusedRange(hostname), `${host} → ${hostname}`).toBeDefined();
    }), { numRuns: 500 });
  });

  it('refuses generated non-public addresses before connecting even when the operator allow-listed them', async () => {
    await fc.assert(fc.asyncProperty(scheme, hostileHost, async (s, host) => {
      const url = `${s}://${host}:${PORT}/v1/users`;
      expect(await codeOf(allowing(url), url), url).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    }), { numRuns: 150 });
    await Promise.all(outbounds.map((o) => o.close()));
    outbounds = [];
  });

  it('refuses a name that resolves to loopback at connect time (localhost)', async () => {
    const url = `http://localhost:${PORT}/v1/users`;
    expect(await codeOf(allowing(url), url)).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
  });

  it('refuses URLs with userinfo and every scheme but http(s), even on an allowed host', async () => {
    const outbound = createAcmeOutbound({ allowedBaseUrls: ['https://acme.example'] });
    outbounds.push(outbound);
    const user = fc.stringMatching(/^[a-z0-9%]{1,12}$/);
    await fc.assert(fc.asyncProperty(user, fc.option(user, { nil: undefined }), async (u, p) => {
      const url = `https://${u}${p === undefined ? '' : `:${p}`}@acme.example/v1/users`;
      expect(await codeOf(outbound, url), url).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    }), { numRuns: 100 });
    await fc.assert(fc.asyncProperty(fc.constantFrom('ftp', 'file', 'gopher', 'ws', 'wss', 'data', 'javascript', 'dict', 'ldap'), async (s) => {
      const url = `${s}://acme.example/v1/users`;
      expect(checkUrlShape(url)).toHaveProperty('reason');
      expect(await codeOf(outbound, url), url).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    }));
  });

  it('refuses any origin outside the allow-list (other host, scheme or port)', async () => {
    const outbound = createAcmeOutbound({ allowedBaseUrls: ['https://acme.example', 'http://127.0.0.1:*'], allowPrivateNetwork: true });
    outbounds.push(outbound);
    for (const url of ['http://acme.example/v1', 'https://acme.example:8443/v1', 'https://evil.example/v1', 'https://acme.example.evil.example/v1', 'http://127.0.0.2:80/v1', 'http://[::1]:80/v1', 'http://localhost:80/v1']) {
      expect(outbound.isAllowedBaseUrl(url), url).toBe(false);
      expect(await codeOf(outbound, url), url).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    }
    for (const url of ['https://acme.example', 'https://acme.example:443/', 'http://127.0.0.1:4010', 'http://0x7f000001:5000/']) expect(outbound.isAllowedBaseUrl(url), url).toBe(true);
  });

  it('admits a generated URL exactly when its scheme, host and port are an allowed origin and it has no userinfo', () => {
    const allowed = ['https://acme.example', 'http://127.0.0.1:*'];
    // Near misses of the allowed origins (case, trailing dot, subdomains, suffixes, ports, userinfo) and random URLs.
    const nearMiss = fc.tuple(
      fc.constantFrom('http', 'https', 'HTTPS'),
      fc.constantFrom('', 'u@', 'u:p@', 'acme.example@'),
      fc.constantFrom('acme.example', 'ACME.Example', 'acme.example.', 'api.acme.example', 'acme.example.evil.example', '127.0.0.1', '127.0.0.01', '0x7f.1', '127.0.0.2'),
      fc.constantFrom('', ':443', ':8443', ':80', ':4010'),
      fc.webPath(),
    ).map(([sch, user, host, port, path]) => `${sch}://${user}${host}${port}${path}`);
    const webUrl = fc.webUrl({ withQueryParameters: true, withFragments: true, authoritySettings: { withUserInfo: true, withPort: true, withIPv4: true } });
    fc.assert(fc.property(fc.oneof(nearMiss, webUrl), (raw) => {
      const url = new URL(raw);
      const expected = url.username === '' && url.password === '' && ((url.origin === 'https://acme.example') || (url.protocol === 'http:' && url.hostname === '127.0.0.1'));
      expect(isAllowedBaseUrl(raw, allowed), raw).toBe(expected);
    }), { numRuns: 1_000 });
    expect(isAllowedBaseUrl('https://acme.example/any/path', allowed)).toBe(true);
  });

  it('lets public unicast addresses through the classification (so the guard is not refusing everything)', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '[2a00:1450::1]']) expect(refusedRange(a), a).toBeUndefined();
  });

  it('reads allow-list patterns, port wildcards included, and refuses paths and userinfo in them', () => {
    expect(parseOriginPattern('http://127.0.0.1:*')).toEqual({ protocol: 'http:', hostname: '127.0.0.1', port: '*' });
    expect(parseOriginPattern('https://api.acme.example/')).toEqual({ protocol: 'https:', hostname: 'api.acme.example', port: '' });
    expect(parseOriginPattern('https://api.acme.example:443')).toEqual({ protocol: 'https:', hostname: 'api.acme.example', port: '' });
    expect(parseOriginPattern('http://[::1]:8080')).toEqual({ protocol: 'http:', hostname: '[::1]', port: '8080' });
    for (const bad of ['https://api.acme.example/v1', 'https://u:p@api.acme.example', 'ftp://api.acme.example', 'api.acme.example']) expect(() => parseOriginPattern(bad), bad).toThrow();
  });
});

describe('DNS rebinding', () => {
  it('checks the address the connection uses: a name that answers public first and loopback next is refused on the second call', async () => {
    let calls = 0;
    // The resolver a rebinding attacker controls: first a public answer (the connection is
    // attempted and fails or times out as ACME_UNAVAILABLE; nothing listens there), then loopback.
    const lookup = ((_host: string, _options: unknown, callback: (err: null, addresses: Array<{ address: string; family: number }>) => void) => {
      calls += 1;
      callback(null, [{ address: calls === 1 ? '8.8.8.8' : '127.0.0.1', family: 4 }]);
    }) as unknown as typeof import('node:dns').lookup;
    const outbound = createAcmeOutbound({ allowedBaseUrls: ['http://acme.rebind.test:65321'], lookup, connectTimeoutMs: 200 });
    outbounds.push(outbound);
    const first = await codeOf(outbound, 'http://acme.rebind.test:65321/v1/users');
    const second = await codeOf(outbound, 'http://acme.rebind.test:65321/v1/users');
    expect(first).not.toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    expect(second).toBe(ERROR_CODES.ACME_ADDRESS_REFUSED);
    expect(calls).toBe(2);
  });
});

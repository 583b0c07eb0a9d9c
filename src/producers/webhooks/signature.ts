/**
 * Standard Webhooks signature check (https://www.standardwebhooks.com/): the sender
 * signs `id.timestamp.body` with HMAC-SHA256 under the base64 part of a `whsec_`
 * secret and sends `v1,<base64>` signatures, space-separated while a rotated secret is
 * in its grace period.
 *
 * We verify with node:crypto rather than the `standardwebhooks` package (which signs in
 * the sandbox and the tests): its `verify()` hard-codes a 5-minute tolerance and reads
 * the wall clock, and we need WEBHOOK_TOLERANCE_SECONDS, an injectable clock, and
 * several current secrets; and its HMAC is pure JavaScript (fast-sha256), which was the
 * largest single cost of the webhook route (npm run bench). What is signed is exactly
 * what the package signs — `id.timestamp.` + the body decoded as UTF-8 — and a test
 * holds the two together. The comparison is constant-time (crypto.timingSafeEqual over
 * equal-length digests) and every (secret, signature) pair is compared, so timing does
 * not tell which matched.
 *
 * The signature is checked before the timestamp: "stale" then means a genuinely
 * signed delivery that is too old or too new (a replay or clock skew), which is what
 * the metric should count. Callers answer 401 either way without saying why.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'malformed_headers' | 'no_secret' | 'mismatch' | 'stale' };

export interface SignatureInput {
  /** Current secrets of the tenant (`whsec_...`), any of which may have signed. */
  secrets: readonly string[];
  headers: { id?: string | undefined; timestamp?: string | undefined; signature?: string | undefined };
  body: Buffer;
  nowMs: number;
  toleranceSeconds: number;
}

const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE = /^v1,([A-Za-z0-9+/=]+)$/;

/** The `v1` signatures of a header as digests; other versions are ignored (the spec allows future schemes). */
export function parseSignatures(header: string): Buffer[] {
  return header
    .split(' ')
    .map((part) => SIGNATURE.exec(part.trim())?.[1])
    .filter((b64): b64 is string => b64 !== undefined)
    .map((b64) => Buffer.from(b64, 'base64'));
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Decoded keys by secret: tenants keep one or two secrets, decoding them per request is waste. Bounded. */
const keys = new Map<string, Buffer | undefined>();
const MAX_KEYS = 10_000;

/** The HMAC key of a `whsec_<base64>` secret; undefined when it is empty or not base64 (it verifies nothing). */
function keyOf(secret: string): Buffer | undefined {
  if (keys.has(secret)) return keys.get(secret);
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = b64 !== '' && BASE64.test(b64) ? Buffer.from(b64, 'base64') : undefined;
  if (keys.size >= MAX_KEYS) keys.clear();
  keys.set(secret, key);
  return key;
}

function expectedDigest(secret: string, id: string, timestampSeconds: number, body: Buffer): Buffer | undefined {
  const key = keyOf(secret);
  if (key === undefined) return undefined;
  return createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body.toString('utf8'), 'utf8').digest();
}

function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function verifySignature(input: SignatureInput): SignatureVerdict {
  const { id, timestamp, signature } = input.headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, reason: 'malformed_headers' };
  const given = parseSignatures(signature);
  if (given.length === 0) return { ok: false, reason: 'malformed_headers' };
  if (input.secrets.length === 0) return { ok: false, reason: 'no_secret' };
  const ts = Number(timestamp);
  let matched = false;
  for (const secret of input.secrets) {
    const expected = expectedDigest(secret, id, ts, input.body);
    if (expected === undefined) continue;
    for (const candidate of given) matched = constantTimeEqual(candidate, expected) || matched;
  }
  if (!matched) return { ok: false, reason: 'mismatch' };
  if (Math.abs(Math.floor(input.nowMs / 1000) - ts) > input.toleranceSeconds) return { ok: false, reason: 'stale' };
  return { ok: true };
}

import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createSecret, signatureHeader } from '../../../sandbox/src/webhooks/signing.js';
import { verifySignature } from '../../../src/producers/webhooks/signature.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const TS = Math.floor(NOW / 1000);
const BODY = Buffer.from('{"id":"evt_1","type":"contact.updated"}');
const current = createSecret();
const previous = createSecret();

function check(overrides: { secrets?: string[]; id?: string; timestamp?: string; signature?: string; body?: Buffer; nowMs?: number } = {}) {
  const signature = overrides.signature ?? signatureHeader([current], 'evt_1', TS, BODY.toString());
  return verifySignature({
    secrets: overrides.secrets ?? [current],
    headers: { id: overrides.id ?? 'evt_1', timestamp: overrides.timestamp ?? String(TS), signature },
    body: overrides.body ?? BODY,
    nowMs: overrides.nowMs ?? NOW,
    toleranceSeconds: 300,
  });
}

describe('Standard Webhooks signature verification', () => {
  it("accepts a body signed the way Acme's sandbox signs it", () => {
    expect(check()).toEqual({ ok: true });
  });

  it('accepts a header with several signatures when any one matches any current secret (rotation)', () => {
    const both = signatureHeader([createSecret(), previous], 'evt_1', TS, BODY.toString());
    expect(check({ secrets: [current, previous], signature: both })).toEqual({ ok: true });
    expect(check({ secrets: [current], signature: both })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects a tampered body, another id, or another secret as a mismatch', () => {
    expect(check({ body: Buffer.from(BODY.toString().replace('evt_1', 'evt_2')) })).toEqual({ ok: false, reason: 'mismatch' });
    expect(check({ id: 'evt_2' })).toEqual({ ok: false, reason: 'mismatch' });
    expect(check({ secrets: [createSecret()] })).toEqual({ ok: false, reason: 'mismatch' });
    expect(check({ signature: 'v1,' + Buffer.alloc(32).toString('base64') })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('rejects missing or malformed headers before computing anything', () => {
    expect(check({ id: '' })).toEqual({ ok: false, reason: 'missing_headers' });
    expect(check({ timestamp: 'yesterday' })).toEqual({ ok: false, reason: 'malformed_headers' });
    expect(check({ signature: 'v2,abc' })).toEqual({ ok: false, reason: 'malformed_headers' });
  });

  it('accepts a timestamp within the tolerance and rejects one beyond it either way as stale', () => {
    expect(check({ nowMs: NOW + 299_000 })).toEqual({ ok: true });
    expect(check({ nowMs: NOW + 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(check({ nowMs: NOW - 301_000 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('treats a tenant without secrets as unverifiable', () => {
    expect(check({ secrets: [] })).toEqual({ ok: false, reason: 'no_secret' });
  });
});

describe('Signature compatibility with the standardwebhooks package', () => {
  const sign = (secret: string, id: string, ts: number, body: Buffer) => new Webhook(secret).sign(id, new Date(ts * 1000), body);

  it('verifies what the package signs, for bodies that are not valid UTF-8 too (both sign the body decoded as UTF-8)', () => {
    const bodies = [BODY, Buffer.from('{"name":"Zoë 🚀"}'), Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0xc3, 0x7d]), Buffer.alloc(0)];
    for (const body of bodies) {
      const signature = sign(current, 'evt_9', TS, body);
      expect(check({ id: 'evt_9', body, signature })).toEqual({ ok: true });
    }
  });

  it('accepts a secret with or without the whsec_ prefix, as the package does', () => {
    const bare = current.slice('whsec_'.length);
    expect(check({ secrets: [bare] })).toEqual({ ok: true });
  });

  it('lets a stored secret that is empty or not base64 verify nothing instead of throwing', () => {
    expect(check({ secrets: ['whsec_', 'whsec_not base64!', current] })).toEqual({ ok: true });
    expect(check({ secrets: ['whsec_', 'whsec_not base64!'] })).toEqual({ ok: false, reason: 'mismatch' });
  });
});

import { describe, expect, it } from 'vitest';
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

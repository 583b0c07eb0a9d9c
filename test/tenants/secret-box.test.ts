import { describe, expect, it } from 'vitest';
import { AcmeSyncError, ERROR_CODES } from '../../src/errors/index.js';
import { createSecretBox } from '../../src/tenants/secret-box.js';

const key = (id: string, fill: number) => ({ id, key: Buffer.alloc(32, fill) });
const CANARY = 'ak_canary_secret_box_42';

function failure(fn: () => unknown): AcmeSyncError {
  try {
    fn();
  } catch (err) {
    return err as AcmeSyncError;
  }
  throw new Error('expected a failure');
}

describe('the secret box', () => {
  it('opens what it sealed for the same tenant, and the ciphertext does not contain the plaintext', () => {
    const box = createSecretBox([key('k1', 1)]);
    const sealed = box.seal('tenant-a', CANARY);
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext).not.toContain('canary');
    expect(Buffer.from(sealed.ciphertext.split('.').at(-1)!, 'base64url').toString('utf8')).not.toContain('canary');
    expect(box.open('tenant-a', sealed.ciphertext)).toBe(CANARY);
  });

  it('seals the same secret differently every time (fresh IV)', () => {
    const box = createSecretBox([key('k1', 1)]);
    expect(box.seal('t1', CANARY).ciphertext).not.toBe(box.seal('t1', CANARY).ciphertext);
  });

  it('refuses to open a ciphertext moved to another tenant, without the secret in the error', () => {
    const box = createSecretBox([key('k1', 1)]);
    const sealed = box.seal('tenant-a', CANARY);
    const err = failure(() => box.open('tenant-b', sealed.ciphertext));
    expect(err.code).toBe(ERROR_CODES.SECRET_UNREADABLE);
    expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('canary');
  });

  it('refuses a tampered ciphertext', () => {
    const box = createSecretBox([key('k1', 1)]);
    const parts = box.seal('t1', CANARY).ciphertext.split('.');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[4] = body.toString('base64url');
    expect(failure(() => box.open('t1', parts.join('.'))).code).toBe(ERROR_CODES.SECRET_UNREADABLE);
  });

  it('opens with any configured key, seals with the first, and says which ciphertexts need rotation', () => {
    const old = createSecretBox([key('old', 1)]);
    const rotated = createSecretBox([key('new', 2), key('old', 1)]);
    const sealedOld = old.seal('t1', CANARY).ciphertext;
    expect(rotated.open('t1', sealedOld)).toBe(CANARY);
    expect(rotated.needsRotation(sealedOld)).toBe(true);
    const sealedNew = rotated.seal('t1', CANARY).ciphertext;
    expect(rotated.needsRotation(sealedNew)).toBe(false);
    expect(failure(() => old.open('t1', sealedNew)).message).toContain('"new" is not configured');
  });
});

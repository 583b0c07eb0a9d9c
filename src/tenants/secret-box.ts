/**
 * Tenants' secrets encrypted at rest with AES-256-GCM (NIST SP 800-38D).
 *
 * - Each ciphertext names the key that sealed it, so keys can rotate: the first key
 *   of MASTER_KEYS seals, every listed key opens, and `reencrypt` moves old rows on.
 * - The tenant ID and key ID are bound in as associated data: a ciphertext copied
 *   into another tenant's row does not open.
 * - A fresh 96-bit random IV per seal; the 128-bit tag authenticates.
 * Failures never include plaintext or key material in their message.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ERROR_CODES, PermanentError } from '../errors/index.js';

export interface MasterKey {
  id: string;
  key: Buffer;
}

export interface Sealed {
  keyId: string;
  ciphertext: string;
}

export interface SecretBox {
  readonly activeKeyId: string;
  seal(tenantId: string, plaintext: string): Sealed;
  open(tenantId: string, ciphertext: string): string;
  /** True when the ciphertext was sealed with a key other than the active one. */
  needsRotation(ciphertext: string): boolean;
}

const FORMAT = 'v1';
const ALGORITHM = 'aes-256-gcm';

function aad(tenantId: string, keyId: string): Buffer {
  return Buffer.from(`acme-sync/tenant-secrets/${FORMAT}\u0000${tenantId}\u0000${keyId}`);
}

/**
 * The master-key canary (see migrations/*_master-key-canary.sql): a fixed marker sealed
 * with one given key (not only the active one) under its own associated data, so a
 * canary never opens as a tenant's secret or the other way round. `openCanary` is true
 * only when `key` is the key that sealed it.
 */
const CANARY_PLAINTEXT = 'acme-sync master key canary';
function canaryAad(keyId: string): Buffer {
  return Buffer.from(`acme-sync/master-key-canary/${FORMAT}\u0000${keyId}`);
}

export function sealCanary(key: MasterKey): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv(ALGORITHM, key.key, iv);
  cipher.setAAD(canaryAad(key.id));
  const body = Buffer.concat([cipher.update(CANARY_PLAINTEXT, 'utf8'), cipher.final()]);
  return [FORMAT, key.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

export function openCanary(key: MasterKey, ciphertext: string): boolean {
  const [format, keyId, iv, tag, body, ...rest] = ciphertext.split('.');
  if (format !== FORMAT || keyId !== key.id || !iv || !tag || body === undefined || rest.length > 0) return false;
  try {
    const decipher = createDecipheriv(ALGORITHM, key.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(canaryAad(key.id));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8') === CANARY_PLAINTEXT;
  } catch {
    return false;
  }
}

function unreadable(tenantId: string, reason: string): PermanentError {
  return new PermanentError(`Secrets of tenant ${tenantId} cannot be decrypted: ${reason}`, { code: ERROR_CODES.SECRET_UNREADABLE, context: { tenantId } });
}

export function createSecretBox(keys: readonly MasterKey[]): SecretBox {
  const active = keys[0];
  if (active === undefined) throw new PermanentError('At least one master key is needed', { code: ERROR_CODES.CONFIG_INVALID });
  for (const k of keys) if (k.key.length !== 32) throw new PermanentError(`Master key ${k.id} is not 32 bytes`, { code: ERROR_CODES.CONFIG_INVALID });
  const byId = new Map(keys.map((k) => [k.id, k.key]));

  return {
    activeKeyId: active.id,
    seal(tenantId, plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv(ALGORITHM, active.key, iv);
      cipher.setAAD(aad(tenantId, active.id));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const parts = [FORMAT, active.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')];
      return { keyId: active.id, ciphertext: parts.join('.') };
    },
    open(tenantId, ciphertext) {
      const [format, keyId, iv, tag, body, ...rest] = ciphertext.split('.');
      if (format !== FORMAT || !keyId || !iv || !tag || body === undefined || rest.length > 0) throw unreadable(tenantId, 'not a sealed secret');
      const key = byId.get(keyId);
      if (key === undefined) throw unreadable(tenantId, `master key "${keyId}" is not configured`);
      try {
        const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(aad(tenantId, keyId));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw unreadable(tenantId, 'authentication failed (wrong key, wrong tenant or tampered data)');
      }
    },
    needsRotation(ciphertext) {
      return ciphertext.split('.')[1] !== active.id;
    },
  };
}

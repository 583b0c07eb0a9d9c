// Standard Webhooks signing: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> keyed with
// the base64 part of a whsec_ secret. Several signatures are space-separated.

import { createHmac, randomBytes } from 'node:crypto';

export function createSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

export function signPayload(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

export function signatureHeader(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): string {
  return secrets.map((s) => signPayload(s, msgId, timestampSeconds, body)).join(' ');
}

/**
 * The webhook envelope as Acme's contract defines it (schemas/acme-openapi.yaml,
 * `components.schemas.WebhookEvent` and `ThinData`): `{ id, type, account_id,
 * occurred_at, data }` where `data` is `{ object }` (full payload) or
 * `{ id, object_type, version }` (thin payload, the object must be fetched).
 *
 * The object itself is validated only as far as it must be identifiable (ID with the
 * type's prefix, version, updated_at): an identifiable but broken record (an
 * appointment without `starts_at`) is passed on so the consumers can send it to the
 * DLQ with context, as src/transforms/acme-to-event.ts explains.
 */
import { z } from 'zod';
import { ValidationError } from '../../errors/index.js';
import { checkId } from '../../contract/index.js';
import { ID_PREFIX, type PublishableType } from '../../transforms/acme-to-event.js';
const objectType = z.enum(['contact', 'appointment', 'activity']);
const action = z.enum(['created', 'updated', 'deleted']);
const timestamp = z.iso.datetime({ offset: true });

const identifiableObject = z.looseObject({
  id: z.string().min(1),
  version: z.number().int().min(1),
  updated_at: timestamp,
});
const fullData = z.strictObject({ object: identifiableObject });
const thinData = z.strictObject({ id: z.string().min(1), object_type: objectType, version: z.number().int().min(1) });

const envelopeSchema = z.looseObject({
  id: z.string().regex(/^evt_/, 'expected an event ID starting with evt_'),
  type: z.string().regex(/^[a-z]+\.[a-z]+$/, 'expected <object>.<action>'),
  account_id: z.string().regex(/^acc_/, 'expected an account ID starting with acc_'),
  occurred_at: timestamp,
  data: z.union([fullData, thinData]),
});

export type WebhookAction = z.output<typeof action>;

export type WebhookEnvelope =
  | { eventId: string; accountId: string; objectType: PublishableType; action: WebhookAction; payload: 'full'; object: Readonly<Record<string, unknown>> }
  | { eventId: string; accountId: string; objectType: PublishableType; action: WebhookAction; payload: 'thin'; objectId: string; version: number };

function invalid(message: string): ValidationError {
  return new ValidationError(message, { stage: 'validate' });
}

/** JSON text → parsed value, or a ValidationError saying where it broke. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw invalid('Body is empty');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`Body is not valid JSON: ${(err as Error).message}`);
  }
}

/** A validated envelope, or a ValidationError naming the first bad path. */
export function parseEnvelope(value: unknown): WebhookEnvelope {
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`);
  }
  const event = parsed.data;
  const [typePart, actionPart] = event.type.split('.');
  const type = objectType.safeParse(typePart);
  const act = action.safeParse(actionPart);
  if (!type.success || !act.success) throw invalid(`type: "${event.type}" is not an Acme webhook event type`);
  const base = { eventId: event.id, accountId: event.account_id, objectType: type.data, action: act.data };
  const data = event.data;
  // The validation contract's ID rule (src/contract): a 200 KB "ID" is refused here,
  // never sent to Acme's API (where it failed as a 502 that Acme then retried).
  const id = checkId('object' in data ? data.object.id : data.id, 'object' in data ? 'data.object.id' : 'data.id', ID_PREFIX[type.data]);
  if (!id.ok) throw invalid(id.violation.message);
  if ('object' in data) return { ...base, payload: 'full', object: data.object };
  if (data.object_type !== type.data) throw invalid(`data.object_type: "${data.object_type}" does not match event type ${event.type}`);
  return { ...base, payload: 'thin', objectId: data.id, version: data.version };
}

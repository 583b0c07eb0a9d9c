/**
 * A tenant is one of our customers with its own Acme account. Its settings are
 * validated by one zod schema (which names the bad path, e.g. `settings.defaultTimeZone`)
 * and its secrets never leave the repository unencrypted except to the code that
 * calls Acme or verifies Acme's signatures.
 */
import { z } from 'zod';

export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{1,62}$/;

/**
 * Building an Intl.DateTimeFormat costs ~70 µs, and flows check a zone per record: that
 * was two thirds of the calendar flow's CPU (found by `npm run bench`). Zones are few, so
 * answers are remembered; the cache is bounded because zones come from outside.
 */
const ZONE_CACHE_LIMIT = 1_000;
const knownZones = new Map<string, boolean>();

export function isValidTimeZone(tz: string): boolean {
  const known = knownZones.get(tz);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    valid = true;
  } catch {
    valid = false;
  }
  if (knownZones.size >= ZONE_CACHE_LIMIT) knownZones.clear();
  knownZones.set(tz, valid);
  return valid;
}

const timeZone = z.string().refine(isValidTimeZone, { message: 'expected an IANA time zone such as Europe/Berlin' });
/** Placeholders a calendar title template may use. */
export const TITLE_PLACEHOLDERS = ['title', 'customer_name', 'customer_company', 'location'] as const;
const titleTemplate = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => [...t.matchAll(/\{([a-z_]+)\}/g)].every((m) => (TITLE_PLACEHOLDERS as readonly string[]).includes(m[1]!)), {
    message: `placeholders must be among ${TITLE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
  });
const activityTypes = z.array(z.string().min(1).max(40)).max(20);

/** Who wins when a calendar change meets a newer Acme version (docs/OPERATIONS.md, two-way sync). */
export const CONFLICT_POLICIES = ['acme-wins', 'calendar-wins', 'newest-wins'] as const;
export type ConflictPolicy = (typeof CONFLICT_POLICIES)[number];

const WRITEBACK_FIELDS = { title: true, time: true, location: true, status: true };
/**
 * Two-way calendar sync (issue 15): off by default. `fields` says which calendar edits
 * flow back to Acme (`time` = start, end and time zone; `status` = cancelling); a field
 * switched off stays one-way (Acme → calendar).
 */
const writebackSettings = z
  .object({
    enabled: z.boolean().default(false),
    conflictPolicy: z.enum(CONFLICT_POLICIES).default('acme-wins'),
    fields: z
      .object({ title: z.boolean().default(true), time: z.boolean().default(true), location: z.boolean().default(true), status: z.boolean().default(true) })
      .strict()
      .default(WRITEBACK_FIELDS),
  })
  .strict()
  .default({ enabled: false, conflictPolicy: 'acme-wins', fields: WRITEBACK_FIELDS });

export const tenantSettingsSchema = z
  .object({
    flows: z.object({ calendar: z.boolean().default(true), touchpoints: z.boolean().default(true) }).strict().default({ calendar: true, touchpoints: true }),
    /** Acme user → our user: by the Acme user's email unless overridden per Acme user ID. */
    userMapping: z
      .object({ strategy: z.literal('email').default('email'), overrides: z.record(z.string().regex(/^usr_/), z.string().min(1)).default({}) })
      .strict()
      .default({ strategy: 'email', overrides: {} }),
    /** Used when Acme does not say (an appointment or user without a time zone). */
    defaultTimeZone: timeZone.default('UTC'),
    titleTemplate: titleTemplate.default('{title} with {customer_name}'),
    /** Which Acme activity types count as which touch-point channel. */
    touchpointTypes: z.object({ email: activityTypes.default(['email']), phone: activityTypes.default(['call']) }).strict().default({ email: ['email'], phone: ['call'] }),
    pollIntervalSeconds: z.number().int().min(10).max(86_400).default(300),
    reconcileIntervalSeconds: z.number().int().min(60).max(7 * 86_400).default(3_600),
    writeback: writebackSettings,
  })
  .strict();

export type TenantSettings = z.output<typeof tenantSettingsSchema>;
export type TenantSettingsInput = z.input<typeof tenantSettingsSchema>;

export const DEFAULT_SETTINGS: TenantSettings = tenantSettingsSchema.parse({});

export type TenantStatus = 'active' | 'paused';
export type AuthKind = 'api_key' | 'oauth';

export interface OAuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface TenantSecrets {
  apiKey?: string;
  oauth?: OAuthTokens;
  /** Standard Webhooks secrets (`whsec_...`); several during a rotation, newest first. */
  webhookSecrets: string[];
}

/** What may be shown: no secrets, only whether they are set. */
export interface Tenant {
  id: string;
  name: string;
  status: TenantStatus;
  acmeBaseUrl: string;
  acmeAccountId: string | null;
  authKind: AuthKind;
  settings: TenantSettings;
  webhookSubscriptionId: string | null;
  secretsSet: { apiKey: boolean; oauth: boolean; webhookSecrets: number };
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface TenantWithSecrets extends Tenant {
  secrets: TenantSecrets;
}

export interface AcmeUserRecord {
  tenantId: string;
  acmeUserId: string;
  email: string | null;
  name: string | null;
  timeZone: string | null;
}

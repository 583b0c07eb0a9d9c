/**
 * The touch-point flow: activity events → facts (prepare: tenant settings and the
 * user's time zone are looked up here, then the pure transform runs) → facts and
 * derived counts in PostgreSQL (apply, in the runner's transaction) → every changed
 * (user, day, channel) count to the compacted `touchpoints` topic.
 */
import { AcmeSyncError, ERROR_CODES, PermanentError, isRetriable, toAcmeSyncError } from '../../errors/index.js';
import { touchPointKey } from '../../kafka/topics.js';
import type { Tenant } from '../../tenants/types.js';
import { channelOf, dayNumber, pickTimeZone, toActivityFact, type ActivityFact } from '../../transforms/touchpoints.js';
import type { AcmeActivityEvent } from '../../transforms/types.js';
import type { DlqEntry, Flow, FlowContext, InboundRecord, OutputRecord } from '../runtime/types.js';
import { countBy } from '../runtime/ledger.js';
import { applyActivityFacts, type ChangedAggregate } from '../sinks/touchpoints.js';
import { createContactCheck, type ContactCheck } from '../unknown-contacts.js';
import type pg from 'pg';

export interface PreparedTouchpoints {
  facts: ActivityFact[];
  /** Per tenant, records of tenants whose touch-point flow is switched off: consumed, counted nowhere. */
  ignored: Map<string, number>;
  /** Per tenant, Acme user ID → our user ID overrides (settings.userMapping), for the outputs. */
  userOverrides: Record<string, Readonly<Record<string, string>>>;
}

type RecordOutcome = { fact: ActivityFact } | { dlq: DlqEntry } | { ignored: string };

export interface TouchpointFlowOptions {
  /** For reading the contacts table (known contacts) before asking Acme; optional. */
  pool?: pg.Pool;
}

export function createTouchpointFlow(options: TouchpointFlowOptions = {}): Flow<PreparedTouchpoints> {
  let contacts: ContactCheck | undefined;
  return {
    name: 'touchpoints',
    inputs: ['activities'],
    async prepare(records, ctx) {
      contacts ??= createContactCheck(ctx, options.pool);
      const zones = createZoneLookup(ctx);
      const tenants = new Map<string, Tenant | undefined>();
      // The users whose time zone may decide a day, in one query (the zone lookup then hits the cache).
      const users = (records as InboundRecord<AcmeActivityEvent>[]).flatMap(({ value: e }) => (e.operation === 'DELETE' || e.user_id === null ? [] : [{ tenantId: e.tenant_id, acmeUserId: e.user_id }]));
      await ctx.tenants.preload?.({ users });
      const results = await Promise.all(records.map((record) => prepareOne(record as InboundRecord<AcmeActivityEvent>, ctx, tenants, zones, contacts!)));
      const ready: PreparedTouchpoints = { facts: [], ignored: new Map(), userOverrides: {} };
      const dlq: DlqEntry[] = [];
      for (const result of results) {
        if ('fact' in result) ready.facts.push(result.fact);
        else if ('dlq' in result) dlq.push(result.dlq);
        else ready.ignored.set(result.ignored, (ready.ignored.get(result.ignored) ?? 0) + 1);
      }
      for (const [id, tenant] of tenants) if (tenant) ready.userOverrides[id] = tenant.settings.userMapping.overrides;
      return { ready, dlq };
    },
    async apply(db, prepared, ctx) {
      const { writtenByTenant, changed } = await applyActivityFacts(db, prepared.facts);
      const updatedAt = ctx.now();
      // Skipped: each tenant's facts that changed nothing (older, equal, repeated) and its records of a switched-off flow.
      const skipped = new Map(prepared.ignored);
      for (const [tenantId, facts] of countBy(prepared.facts, (f) => f.tenantId)) skipped.set(tenantId, (skipped.get(tenantId) ?? 0) + facts - (writtenByTenant.get(tenantId) ?? 0));
      return { written: writtenByTenant, skipped, outputs: changed.map((aggregate) => toOutput(aggregate, prepared.userOverrides, updatedAt)) };
    },
  };
}

async function prepareOne(
  record: InboundRecord<AcmeActivityEvent>,
  ctx: FlowContext,
  tenants: Map<string, Tenant | undefined>,
  zones: ZoneLookup,
  contacts: ContactCheck,
): Promise<RecordOutcome> {
  const event = record.value;
  const tenant = await tenantOf(event.tenant_id, ctx, tenants);
  if (tenant === undefined) {
    return dlqEntry(record, new PermanentError(`Unknown tenant ${event.tenant_id}`, { code: ERROR_CODES.UNKNOWN_TENANT, stage: 'validate', context: { tenantId: event.tenant_id, acmeId: event.acme_id } }));
  }
  if (!tenant.settings.flows.touchpoints) return { ignored: tenant.id };
  try {
    const timeZone = await zones.of(tenant, event);
    const fact = toActivityFact(event, { settings: tenant.settings, timeZone });
    // The unknown-contact rule (src/consumers/unknown-contacts.ts): a live activity naming a
    // contact Acme does not know is bad data, whatever its type (as for appointments);
    // a delete is never refused (it must win over its late create).
    if (!fact.deleted && event.contact_id !== null) {
      const unknown = await contacts.check(event.tenant_id, event.contact_id);
      if (unknown !== undefined) return dlqEntry(record, unknown);
    }
    return { fact };
  } catch (err) {
    // Waiting can help (Acme down, rate-limited): the runner retries the whole batch.
    if (isRetriable(err)) throw err;
    return dlqEntry(record, err instanceof AcmeSyncError && err.stage !== undefined ? err : toAcmeSyncError(err, 'enrich', { tenantId: event.tenant_id, acmeId: event.acme_id }));
  }
}

function dlqEntry(record: InboundRecord, error: AcmeSyncError): RecordOutcome {
  return { dlq: { record, error } };
}

async function tenantOf(tenantId: string, ctx: FlowContext, cache: Map<string, Tenant | undefined>): Promise<Tenant | undefined> {
  if (!cache.has(tenantId)) cache.set(tenantId, await ctx.tenants.get(tenantId));
  return cache.get(tenantId);
}

interface ZoneLookup {
  of(tenant: Tenant, event: AcmeActivityEvent): Promise<string>;
}

/**
 * The user's time zone decides the day, so it is looked up only where a day counts
 * (a live activity of a counted type); one lookup per user per batch.
 */
function createZoneLookup(ctx: FlowContext): ZoneLookup {
  const pending = new Map<string, Promise<string | null | undefined>>();
  return {
    async of(tenant, event) {
      const counts = event.operation !== 'DELETE' && event.user_id !== null && channelOf(event.activity_type, tenant.settings) !== null;
      if (!counts) return tenant.settings.defaultTimeZone;
      const key = `${tenant.id}\u0000${event.user_id}`;
      let zone = pending.get(key);
      if (zone === undefined) {
        zone = ctx.tenants.acmeUser(tenant.id, event.user_id as string).then((user) => user?.timeZone);
        pending.set(key, zone);
      }
      return pickTimeZone(await zone, tenant.settings.defaultTimeZone);
    },
  };
}

/** A changed count as the Avro TouchPointAggregate (day: days since epoch); our user by override, else the Acme user's email. */
export function toOutput(aggregate: ChangedAggregate, overrides: PreparedTouchpoints['userOverrides'], updatedAt: number): OutputRecord {
  return {
    kind: 'touchpoints',
    key: touchPointKey(aggregate.tenantId, aggregate.acmeUserId, aggregate.day, aggregate.channel),
    value: {
      tenant_id: aggregate.tenantId,
      acme_user_id: aggregate.acmeUserId,
      user_id: overrides[aggregate.tenantId]?.[aggregate.acmeUserId] ?? aggregate.email,
      day: dayNumber(aggregate.day),
      channel: aggregate.channel,
      count: aggregate.count,
      updated_at: updatedAt,
    },
  };
}

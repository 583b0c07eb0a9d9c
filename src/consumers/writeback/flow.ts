/**
 * The write-back flow (issue 15): calendar.changes.v1 → Acme's PATCH /v1/appointments/{id}
 * with the tenant's credentials, as `acme-sync consumers --flows writeback`.
 *
 * - Where the write happens: in `prepare`, which the runner may run more than once for the
 *   same records (batch retry, crash before COMMIT). That is safe because every write
 *   carries an Idempotency-Key derived from the change ID (transforms/writeback.ts): a
 *   second run gets Acme's stored answer, never a second write. `apply` then records the
 *   outcome, the state and the conflicts in the transaction that stores the offset.
 * - Ordering: changes are keyed tenant:acmeId, so one appointment's changes are on one
 *   partition, and a batch is handled sequentially in offset order.
 * - Echoes: the state per Acme ID records the chain of versions our writes produced; a
 *   change based on one of them is sent with If-Match of our latest (no false conflict),
 *   and a change that only repeats Acme's current values is not written (echo_suppressed).
 * - Conflicts (412, or the appointment was deleted): the tenant's policy picks the winner;
 *   the calendar wins by overriding with If-Match of the version it read (bounded tries),
 *   Acme wins by re-publishing our calendar row to calendar.events.v1. Either way a
 *   conflict record and the conflict counter.
 * - Failures: 422 (field errors), 403 (no write scope), 404 → DLQ at stage writeback,
 *   replayable; 429/5xx/timeouts are TransientError → the runner retries the batch with
 *   the partition paused.
 */
import type pg from 'pg';
import type { AppointmentPatch, WriteAck, WriteOptions } from '../../acme/client.js';
import type { AcmeAppointment } from '../../acme/types.js';
import { ERROR_CODES, TransientError, toAcmeSyncError, type AcmeSyncError } from '../../errors/index.js';
import { recordKey } from '../../kafka/topics.js';
import type { Tenant } from '../../tenants/types.js';
import { toCalendarEventValue } from '../../transforms/calendar.js';
import {
  conflictWinner, idempotencyKeyFor, ifMatchFor, isAlreadyHandled, isEcho, patchFields, stateAfterSkip, stateAfterWrite, toAcmePatch, validateChange,
  type CalendarChange, type KnownAcmeValues, type WritebackState,
} from '../../transforms/writeback.js';
import { countBy } from '../runtime/ledger.js';
import type { DlqEntry, Flow, FlowContext, InboundRecord, OutputRecord } from '../runtime/types.js';
import { readCalendarRows, type StoredCalendarRow } from '../sinks/calendar.js';
import type { WritebackMetrics } from './metrics.js';
import { readStates, recordChanges, recordConflicts, stateKey, writeStates, type ChangeOutcome, type ConflictRecord, type HandledChange } from './store.js';

/** What the flow needs of the Acme client (AcmeClient is assignable to it). */
export interface AcmeWriter {
  get(type: 'appointment', id: string): Promise<AcmeAppointment>;
  patchAppointment(id: string, patch: AppointmentPatch, write: WriteOptions): Promise<WriteAck>;
}

export interface WritebackFlowOptions {
  /** For reads in prepare (state, calendar rows); writes happen on apply's transaction client. */
  pool: pg.Pool;
  acme: (tenantId: string) => AcmeWriter;
  metrics: WritebackMetrics;
  /** How often a calendar-wins override is retried when Acme keeps moving (then the batch retries). */
  maxOverrides?: number;
}

interface Handled extends HandledChange {
  conflict?: ConflictRecord;
  /** Acme won: re-publish our calendar row so the calendar drops the user's edit. */
  republish: boolean;
}

export interface WritebackPrepared {
  handled: Handled[];
  states: Map<string, { tenantId: string; acmeId: string; state: WritebackState }>;
  disabled: Map<string, number>;
  rejected: number;
}

type StoredState = WritebackPrepared['states'];

/** Avro timestamp-millis may arrive as a number or a Date depending on the codec. */
const millis = (v: unknown): number => (v instanceof Date ? v.getTime() : Number(v));

function normalise(value: unknown): CalendarChange {
  const v = value as CalendarChange;
  return {
    ...v,
    calendar_version: Number(v.calendar_version),
    base_acme_version: v.base_acme_version === null ? null : Number(v.base_acme_version),
    changed_at: millis(v.changed_at),
    starts_at: v.starts_at === null ? null : millis(v.starts_at),
    ends_at: v.ends_at === null ? null : millis(v.ends_at),
  };
}

function knownValues(row: StoredCalendarRow | undefined): KnownAcmeValues | undefined {
  if (row === undefined) return undefined;
  return { acmeVersion: row.acmeVersion, title: row.acmeTitle, startsAt: row.startsAt, endsAt: row.endsAt, timeZone: row.timeZone, location: row.location, status: row.status };
}

export function createWritebackFlow(options: WritebackFlowOptions): Flow<WritebackPrepared> {
  const maxOverrides = options.maxOverrides ?? 3;
  const { metrics } = options;

  /** Acme changed since the calendar saw it: the policy decides; may throw TransientError. */
  async function resolveConflict(c: CalendarChange, tenant: Tenant, patch: AppointmentPatch, ifMatch: number | undefined, before: WritebackState | undefined): Promise<{ handled: Omit<Handled, keyof HandledChange>; state: WritebackState; acmeVersion: number; key: string | null; ackedAt: number | null }> {
    const policy = tenant.settings.writeback.conflictPolicy;
    const acme = options.acme(c.tenant_id);
    for (let attempt = 0; attempt <= maxOverrides; attempt++) {
      const current = await acme.get('appointment', c.acme_id);
      const acmeUpdatedAt = Date.parse(current.updated_at);
      const winner = conflictWinner(policy, c.changed_at, Number.isNaN(acmeUpdatedAt) ? null : acmeUpdatedAt, current.deleted_at !== null);
      const conflict = (finalAcmeVersion: number): ConflictRecord => ({
        tenantId: c.tenant_id, acmeId: c.acme_id, changeId: c.change_id, policy, winner, baseAcmeVersion: c.base_acme_version, acmeVersion: current.version,
        finalAcmeVersion, calendarChangedAt: c.changed_at, acmeUpdatedAt: Number.isNaN(acmeUpdatedAt) ? null : acmeUpdatedAt, fields: patchFields(patch),
      });
      if (winner === 'acme') return { handled: { conflict: conflict(current.version), republish: true }, state: stateAfterSkip(c, before), acmeVersion: current.version, key: null, ackedAt: null };
      const key = idempotencyKeyFor(c.change_id, current.version);
      try {
        const ack = await acme.patchAppointment(c.acme_id, patch, { idempotencyKey: key, ifMatchVersion: current.version });
        return { handled: { conflict: conflict(ack.appointment.version), republish: false }, state: stateAfterWrite(c, before, ifMatch, ack.appointment.version), acmeVersion: ack.appointment.version, key, ackedAt: Date.now() };
      } catch (err) {
        if (toAcmeSyncError(err, 'writeback').code !== ERROR_CODES.ACME_CONFLICT) throw err;
      }
    }
    throw new TransientError(`Acme kept changing ${c.acme_id} while the calendar's change ${c.change_id} was written`, { code: ERROR_CODES.ACME_UNAVAILABLE, stage: 'writeback', context: { tenantId: c.tenant_id, acmeId: c.acme_id } });
  }

  /** One change; returns what happened, or a DLQ error. Transient errors throw. */
  async function handle(c: CalendarChange, tenant: Tenant, states: StoredState, known: KnownAcmeValues | undefined): Promise<Handled | AcmeSyncError> {
    const k = stateKey(c.tenant_id, c.acme_id);
    const before = states.get(k)?.state;
    const base: HandledChange = { tenantId: c.tenant_id, changeId: c.change_id, acmeId: c.acme_id, calendarVersion: c.calendar_version, outcome: 'applied', acmeVersion: null, idempotencyKey: null, changedAt: c.changed_at, ackedAt: null };
    const done = (outcome: ChangeOutcome, state: WritebackState | undefined, extra: Partial<Handled> = {}): Handled => {
      if (state !== undefined) states.set(k, { tenantId: c.tenant_id, acmeId: c.acme_id, state });
      return { ...base, republish: false, ...extra, outcome };
    };
    const already = isAlreadyHandled(c, before);
    if (already !== undefined) return done(already, undefined);
    const patch = toAcmePatch(c, tenant.settings.writeback.fields);
    if (Object.keys(patch).length === 0) return done('not_synced', stateAfterSkip(c, before));
    const ifMatch = ifMatchFor(c, before, known);
    if (isEcho(patch, ifMatch, known)) return done('echo_suppressed', stateAfterSkip(c, before));
    const key = idempotencyKeyFor(c.change_id);
    try {
      const ack = await options.acme(c.tenant_id).patchAppointment(c.acme_id, patch, { idempotencyKey: key, ...(ifMatch === undefined ? {} : { ifMatchVersion: ifMatch }) });
      return done('applied', stateAfterWrite(c, before, ifMatch, ack.appointment.version), { acmeVersion: ack.appointment.version, idempotencyKey: key, ackedAt: Date.now() });
    } catch (err) {
      const e = toAcmeSyncError(err, 'writeback', { tenantId: c.tenant_id, acmeId: c.acme_id, changeId: c.change_id });
      if (e.retriable) throw e;
      if (e.code !== ERROR_CODES.ACME_CONFLICT) return e;
    }
    try {
      const r = await resolveConflict(c, tenant, patch, ifMatch, before);
      return done('conflict', r.state, { ...r.handled, acmeVersion: r.acmeVersion, idempotencyKey: r.key, ackedAt: r.ackedAt });
    } catch (err) {
      const e = toAcmeSyncError(err, 'writeback', { tenantId: c.tenant_id, acmeId: c.acme_id, changeId: c.change_id });
      if (e.retriable) throw e;
      return e;
    }
  }

  return {
    name: 'writeback',
    inputs: ['calendar_changes'],
    async prepare(records, ctx: FlowContext) {
      const ready: WritebackPrepared = { handled: [], states: new Map(), disabled: new Map(), rejected: 0 };
      const dlq: DlqEntry[] = [];
      const changes = records.map((r) => ({ record: r as InboundRecord, change: normalise(r.value) }));
      const keys = [...new Map(changes.map(({ change: c }) => [stateKey(c.tenant_id, c.acme_id), { tenantId: c.tenant_id, acmeId: c.acme_id }])).values()];
      for (const [k, state] of await readStates(options.pool, keys)) {
        const [tenantId = '', acmeId = ''] = k.split('\u0000');
        ready.states.set(k, { tenantId, acmeId, state });
      }
      const rows = new Map((await readCalendarRows(options.pool, keys)).map((r) => [stateKey(r.tenantId, r.acmeAppointmentId), r]));
      for (const { record, change } of changes) {
        const tenant = (await ctx.tenants.get(change.tenant_id))!;
        if (!tenant.settings.writeback.enabled) {
          ready.disabled.set(tenant.id, (ready.disabled.get(tenant.id) ?? 0) + 1);
          continue;
        }
        const invalid = validateChange(change);
        if (invalid !== undefined) {
          dlq.push({ record, error: invalid });
          continue;
        }
        const result = await handle(change, tenant, ready.states, knownValues(rows.get(stateKey(change.tenant_id, change.acme_id))));
        if ('outcome' in result) ready.handled.push(result);
        else {
          dlq.push({ record, error: result });
          ready.rejected++;
        }
      }
      return { ready, dlq };
    },
    async apply(db, prepared) {
      await recordChanges(db, prepared.handled);
      await writeStates(db, prepared.states);
      await recordConflicts(db, prepared.handled.flatMap((h) => (h.conflict ? [h.conflict] : [])));
      const republish = prepared.handled.filter((h) => h.republish).map((h) => ({ tenantId: h.tenantId, acmeId: h.acmeId }));
      const outputs: OutputRecord[] = (await readCalendarRows(db, republish)).map((row) => ({ kind: 'calendar', key: recordKey(row.tenantId, row.acmeAppointmentId), value: toCalendarEventValue(row, row.updatedAt) }));

      for (const h of prepared.handled) {
        metrics.writebacks.inc({ outcome: h.outcome });
        if (h.conflict) metrics.conflicts.inc({ policy: h.conflict.policy, winner: h.conflict.winner });
        if (h.ackedAt !== null) metrics.ackSeconds.observe(Math.max(0, h.ackedAt - h.changedAt) / 1000);
      }
      for (const n of prepared.disabled.values()) metrics.writebacks.inc({ outcome: 'disabled' }, n);
      if (prepared.rejected > 0) metrics.writebacks.inc({ outcome: 'rejected' }, prepared.rejected);

      const wrote = (o: ChangeOutcome) => o === 'applied' || o === 'conflict';
      const written = countBy(prepared.handled.filter((h) => wrote(h.outcome)), (h) => h.tenantId);
      const skipped = new Map(prepared.disabled);
      for (const [tenantId, n] of countBy(prepared.handled.filter((h) => !wrote(h.outcome)), (h) => h.tenantId)) skipped.set(tenantId, (skipped.get(tenantId) ?? 0) + n);
      return { written, skipped, outputs };
    },
  };
}

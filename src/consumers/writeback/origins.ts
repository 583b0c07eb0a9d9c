/**
 * Echo tagging for calendar.events.v1 (issue 15): a calendar state whose Acme version
 * was produced by one of our write-backs carries that change's ID
 * (`writeback_change_id`), so the calendar recognises the echo of its own edit: it does
 * not bounce to it when the user already made a newer edit, and never re-publishes it as
 * a change. Looked up in writeback_changes by (tenant, Acme ID, Acme version). An echo
 * that reaches the calendar flow before the write-back's transaction committed is not
 * tagged (a narrow race, docs/OPERATIONS.md).
 */
import type { Queryable } from '../sinks/contacts.js';
import type { OutputRecord } from '../runtime/types.js';

export async function tagWritebackEchoes(db: Queryable, outputs: readonly OutputRecord[]): Promise<void> {
  const calendar = outputs.filter((o) => o.kind === 'calendar' && o.value !== null);
  if (calendar.length === 0) return;
  const { rows } = await db.query<{ tenant_id: string; acme_id: string; acme_version: string; change_id: string }>(
    `SELECT tenant_id, acme_id, acme_version, change_id FROM writeback_changes
     WHERE (tenant_id, acme_id, acme_version) IN (SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]))`,
    [calendar.map((o) => String(o.value!.tenant_id)), calendar.map((o) => String(o.value!.acme_appointment_id)), calendar.map((o) => Number(o.value!.acme_version))],
  );
  const byVersion = new Map(rows.map((r) => [`${r.tenant_id}\u0000${r.acme_id}\u0000${r.acme_version}`, r.change_id]));
  for (const o of calendar) {
    const id = byVersion.get(`${String(o.value!.tenant_id)}\u0000${String(o.value!.acme_appointment_id)}\u0000${Number(o.value!.acme_version)}`);
    if (id !== undefined) o.value!.writeback_change_id = id;
  }
}

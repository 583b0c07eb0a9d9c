/**
 * Contact events become rows of the contacts table (the compacted contacts topic,
 * materialized). Pure: no I/O, the input is never mutated.
 */
import type { AcmeContactEvent } from './types.js';

export interface ContactRow {
  tenantId: string;
  acmeId: string;
  acmeVersion: number;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  phone: string | null;
  company: string | null;
  deleted: boolean;
  acmeUpdatedAt: number;
}

export function toContactRow(event: Readonly<AcmeContactEvent>): ContactRow {
  return {
    tenantId: event.tenant_id,
    acmeId: event.acme_id,
    acmeVersion: event.acme_version,
    firstName: event.first_name,
    lastName: event.last_name,
    email: event.email,
    phone: event.phone,
    company: event.company,
    deleted: event.operation === 'DELETE',
    acmeUpdatedAt: event.acme_updated_at,
  };
}

/** A contact's display name as our calendar shows it. */
export function contactDisplayName(row: Pick<ContactRow, 'firstName' | 'lastName'>): string | null {
  const name = [row.firstName, row.lastName].filter((p) => p !== null && p.trim() !== '').join(' ');
  return name === '' ? null : name;
}

/**
 * "Newer version wins", the rule every table follows. Within one batch we keep only
 * the newest version per (tenant, Acme ID): a multi-row upsert may not touch a row
 * twice, and an older or equal version must never win.
 */
export function newestPerKey<T extends { tenantId: string; acmeId: string }>(rows: readonly T[], versionOf: (row: T) => number): T[];
export function newestPerKey<T extends { tenantId: string }>(rows: readonly T[], versionOf: (row: T) => number, idOf: (row: T) => string): T[];
export function newestPerKey<T extends { tenantId: string }>(rows: readonly T[], versionOf: (row: T) => number, idOf = (row: T) => (row as T & { acmeId: string }).acmeId): T[] {
  const newest = new Map<string, T>();
  for (const row of rows) {
    const key = `${row.tenantId}\u0000${idOf(row)}`;
    const seen = newest.get(key);
    if (seen === undefined || versionOf(row) > versionOf(seen)) newest.set(key, row);
  }
  return [...newest.values()];
}

/**
 * Checks that make "started" mean "ready to do the work", each naming the setting to fix
 * (issue 13: a wrong MASTER_KEYS served 500 on every webhook behind a ready /readyz; a
 * typo in DATABASE_URL's database name created and served an empty database).
 *
 * - The database named in DATABASE_URL must exist (src/db: migrate names DATABASE_URL when
 *   it does not): creating it is the local stack's job, never a production process's.
 * - Every key in MASTER_KEYS must open what it must: its own canary (sealed the first
 *   time a process starts with that key), and one tenant secret per key ID in use, so a
 *   deployment whose secrets predate the canary is checked too; every key ID that tenant
 *   secrets are sealed with must be configured.
 */
import type pg from 'pg';
import { ConfigError } from './errors/index.js';
import { openCanary, sealCanary, createSecretBox, type MasterKey } from './tenants/secret-box.js';

interface TenantSample {
  id: string;
  secrets_key_id: string;
  secrets_ciphertext: string;
}

/** One problem per key, worded for the operator; empty when every key opens what it must. */
export async function masterKeyProblems(db: pg.Pool | pg.Client, keys: readonly MasterKey[]): Promise<string[]> {
  const problems: string[] = [];
  for (const key of keys) {
    // Concurrent first starts: the first insert wins, everyone then opens the same row.
    await db.query('INSERT INTO master_key_canaries (key_id, ciphertext) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING', [key.id, sealCanary(key)]);
    const { rows } = await db.query<{ ciphertext: string; created_at: Date }>('SELECT ciphertext, created_at FROM master_key_canaries WHERE key_id = $1', [key.id]);
    const canary = rows[0];
    if (canary !== undefined && !openCanary(key, canary.ciphertext)) {
      problems.push(`key "${key.id}" is not the key that sealed its canary on ${canary.created_at.toISOString()}: a wrong key under a known ID`);
    }
  }
  const { rows: samples } = await db.query<TenantSample>(
    'SELECT DISTINCT ON (secrets_key_id) id, secrets_key_id, secrets_ciphertext FROM tenants ORDER BY secrets_key_id, updated_at DESC',
  );
  const configured = new Set(keys.map((k) => k.id));
  const box = createSecretBox(keys);
  for (const sample of samples) {
    if (!configured.has(sample.secrets_key_id)) {
      problems.push(`tenant secrets are sealed with key "${sample.secrets_key_id}" (tenant ${sample.id}), which is not configured`);
      continue;
    }
    try {
      box.open(sample.id, sample.secrets_ciphertext);
    } catch {
      problems.push(`key "${sample.secrets_key_id}" does not open tenant ${sample.id}'s secrets`);
    }
  }
  return problems;
}

/** Throws a ConfigError naming MASTER_KEYS when any key fails; see masterKeyProblems. */
export async function checkMasterKeys(db: pg.Pool | pg.Client, keys: readonly MasterKey[]): Promise<void> {
  const problems = await masterKeyProblems(db, keys);
  if (problems.length > 0) throw new ConfigError(problems.map((message) => ({ key: 'MASTER_KEYS', message })));
}

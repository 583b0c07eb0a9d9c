/**
 * PostgreSQL: one pool per process with the schema on its search_path, and the
 * migrations (node-pg-migrate, plain SQL files in migrations/) run at start-up.
 */
import { projectPath } from '../paths.js';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import { ERROR_CODES, TransientError, isRetriable } from '../errors/index.js';

export const MIGRATIONS_DIR = projectPath('migrations');
const MIGRATIONS_TABLE = 'pgmigrations';

export interface DatabaseOptions {
  url: string;
  schema: string;
  poolMax: number;
  logger?: Logger;
}

export function createPool(options: DatabaseOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    // Every connection sees only this schema: tests and environments can share a server.
    options: `-c search_path=${options.schema}`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its server (restart, failover) must not crash the process;
  // the next query reconnects or fails with a transient error.
  pool.on('error', (err) => options.logger?.warn({ err }, 'idle PostgreSQL client lost'));
  // A client checked out of the pool has no error listener of pg-pool's: a connection
  // dropped between two queries would crash the process (node-postgres#1324, #2439).
  // With ours, the next query fails with a retriable error and the broken client is
  // discarded on release. Found by the PostgreSQL-outage drill.
  pool.on('connect', (client) => {
    client.on('error', (err) => options.logger?.warn({ err }, 'PostgreSQL connection lost while in use'));
  });
  return pool;
}

/**
 * Apply every pending migration in the schema (creating the schema when missing).
 * node-pg-migrate's own lock is one per database and fails fast when taken; we wait
 * on a lock per schema instead, so processes starting together queue up and tests
 * migrating their own schemas run in parallel.
 */
export async function migrate(options: Pick<DatabaseOptions, 'url' | 'schema' | 'logger'>): Promise<string[]> {
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`acme-sync-migrate:${options.schema}`]);
    const applied = await runner({
      dbClient: client,
      noLock: true,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: MIGRATIONS_TABLE,
      schema: options.schema,
      createSchema: true,
      migrationsSchema: options.schema,
      createMigrationsSchema: true,
      checkOrder: true,
      log: (msg: string) => options.logger?.debug(msg),
    });
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}

/** Classify a pg failure: connection loss and the like are transient, constraint violations are not. */
export function asDatabaseError(err: unknown): unknown {
  if (isRetriable(err)) return new TransientError(`PostgreSQL unavailable: ${(err as Error).message}`, { code: ERROR_CODES.DATABASE_UNAVAILABLE, stage: 'sink', cause: err });
  return err;
}

/** Run `fn` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** CREATE DATABASE when missing (the stack and tests call this; the server needs CREATEDB rights). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err; // created concurrently
    });
  } finally {
    await client.end();
  }
}

/**
 * PostgreSQL: one pool per process with the schema on its search_path, and the
 * migrations (node-pg-migrate, plain SQL files in migrations/) run at start-up.
 */
import { projectPath } from '../paths.js';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';
import { ConfigError, ERROR_CODES, TransientError, isRetriable } from '../errors/index.js';

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

/** PostgreSQL's SQLSTATE for a database that does not exist (invalid_catalog_name). */
const INVALID_CATALOG_NAME = '3D000';

/**
 * "database does not exist" becomes a configuration error naming DATABASE_URL (host and
 * database, never the password): processes never create a database, so a typo in its
 * name stops start-up instead of serving an empty one (issue 13). The local stack and
 * the tests' containers create theirs (scripts/stack/postgres.ts). Anything else is
 * returned as it is.
 */
export function explainDatabaseError(err: unknown, url: string): unknown {
  if ((err as { code?: unknown } | null)?.code !== INVALID_CATALOG_NAME) return err;
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.slice(1)) || '(none)';
  return new ConfigError([{
    key: 'DATABASE_URL',
    message: `database "${database}" does not exist on ${target.hostname}:${target.port || 5432}; fix the name, or create it first (processes never create databases; locally \`npm run stack -- up\` does)`,
  }]);
}

/**
 * Apply every pending migration in the schema (creating the schema when missing).
 * node-pg-migrate's own lock is one per database and fails fast when taken; we wait
 * on a lock per schema instead, so processes starting together queue up and tests
 * migrating their own schemas run in parallel.
 */
export async function migrate(options: Pick<DatabaseOptions, 'url' | 'schema' | 'logger'>): Promise<string[]> {
  const client = new pg.Client({ connectionString: options.url });
  await client.connect().catch((err: unknown) => {
    throw explainDatabaseError(err, options.url);
  });
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

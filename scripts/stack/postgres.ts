/**
 * PostgreSQL: the machine's server on 127.0.0.1:5432 when it answers; otherwise we
 * start the Debian cluster (the command the machine's own start-up uses). Then the
 * project's database is created and migrated.
 */
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { migrate } from '../../src/db/index.js';
import { isPortOpen, sleep } from './processes.js';
import { ADDRESSES, HOST, PG_PORT } from './settings.js';

function startDebianCluster(): void {
  if (!existsSync('/etc/postgresql')) throw new Error(`PostgreSQL is not answering on ${HOST}:${PG_PORT} and no Debian cluster is installed (apt-get install postgresql)`);
  const version = readdirSync('/etc/postgresql').sort().at(-1);
  execSync(`pg_ctlcluster --skip-systemctl-redirect ${version} main start`, { stdio: 'pipe' });
}

export async function ensurePostgres(log: (msg: string) => void): Promise<void> {
  if (!(await isPortOpen(HOST, PG_PORT))) {
    log(`PostgreSQL not answering on ${HOST}:${PG_PORT}; starting the local cluster...`);
    startDebianCluster();
    for (let i = 0; i < 60 && !(await isPortOpen(HOST, PG_PORT)); i++) await sleep(500);
  }
  await ensureDatabase(ADDRESSES.database);
  const applied = await migrate({ url: ADDRESSES.database, schema: 'public' });
  log(`PostgreSQL ${await postgresVersion()} ready at ${ADDRESSES.database}${applied.length ? ` (applied ${applied.length} migration(s))` : ''}`);
}

/**
 * CREATE DATABASE when missing: the local stack's job alone. The integration's processes
 * never create a database (a typo in DATABASE_URL must not serve an empty one), so this
 * lives here and not in src/. The server needs CREATEDB rights.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((err: { code?: string }) => {
      // Created concurrently: duplicate_database, or the catalog's unique index when both raced.
      if (err.code !== '42P04' && err.code !== '23505') throw err;
    });
  } finally {
    await client.end();
  }
}

export async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: ADDRESSES.database });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

export async function isPostgresHealthy(): Promise<boolean> {
  return isPortOpen(HOST, PG_PORT);
}

/**
 * PostgreSQL: the machine's server on 127.0.0.1:5432 when it answers; otherwise we
 * start the Debian cluster (the command the machine's own start-up uses). Then the
 * project's database is created and migrated.
 */
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { ensureDatabase, migrate } from '../../src/db/index.js';
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

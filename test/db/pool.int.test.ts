import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool } from '../../src/db/index.js';
import { isRetriable } from '../../src/errors/index.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => stack?.close());

describe('the PostgreSQL pool', () => {
  // Regression: found by the PostgreSQL-outage drill — a checked-out client whose
  // connection dropped between two queries emitted an unhandled 'error' and crashed the
  // process (node-postgres#1324). An unhandled error fails this test run.
  it('survives a connection dropped while a client is checked out, and the next query fails as retriable', async () => {
    const pool = createPool({ url: stack.config.DATABASE_URL, schema: stack.config.DATABASE_SCHEMA, poolMax: 2 });
    const client = await pool.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // Wait for the client to see its connection end (the condition), not for a fixed time.
    const ended = new Promise((resolve) => client.once('end', resolve));
    await stack.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await ended;
    const err = await client.query('SELECT 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isRetriable(err)).toBe(true);
    client.release(err as Error);
    expect((await pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await pool.end();
  });
});

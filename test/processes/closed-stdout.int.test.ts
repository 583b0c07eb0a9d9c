/**
 * Pins: "the edge hangs on SIGTERM when its standard output is a pipe nobody reads any
 * more" (found while building the demo supervisor, issue 13). pino's asynchronous
 * destination flushed with sonic-boom's flushSync at exit, which retries a failed write
 * forever unless the error is EAGAIN; the main thread slept in Atomics.wait. The logger
 * now writes standard output synchronously (src/logger.ts), so EPIPE stops the logging.
 * The bound is the test's timeout: the assertion is on the exit code, never a duration.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { freePort, startEdgeProcess } from '../../bench/support/children.js';
import { childEnv } from '../../bench/support/stack.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';

let stack: IsolatedStack;
const children: ChildProcess[] = [];
beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await stack?.close();
});

const exitOf = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe('a process whose standard output reader has gone', () => {
  it('still exits 0 on SIGTERM while logging at info (the edge)', async () => {
    const port = await freePort();
    const child = startEdgeProcess({ ...childEnv(stack, { LOG_LEVEL: 'info', EDGE_PORT: String(port) }) }, ['ignore', 'pipe', 'pipe']);
    children.push(child);
    await vi.waitFor(async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200), { timeout: 90_000, interval: 300 });
    // The reader goes away: every later write to the pipe fails with EPIPE.
    child.stdout!.destroy();
    child.stderr!.destroy();
    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
  }, 60_000 + 90_000);
});
